from django.urls import path

from checkout.views import cart, payment, retry, webhook

app_name = "checkout"
urlpatterns = [
    # Cart
    path("cart/", cart.cart_detail, name="cart"),
    path("cart/add/", cart.cart_add, name="cart_add"),
    path("cart/items/<id:item_id>/", cart.cart_update, name="cart_update"),
    path("cart/items/<id:item_id>/remove/", cart.cart_remove, name="cart_remove"),
    # Checkout and payment confirmation
    path("checkout/", payment.checkout_start, name="start"),
    path("checkout/success/", payment.checkout_success, name="success"),
    path("checkout/cancel/", payment.checkout_cancel, name="cancel"),
    path("checkout/retry/", retry.checkout_retry, name="retry"),
    path("webhooks/stripe/", webhook.stripe_webhook, name="stripe_webhook"),
]
