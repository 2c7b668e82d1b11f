from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="index"),
    path("products/badges/", views.stock_badges, name="badges"),
    path("products/<slug:slug>/", views.product_detail, name="detail"),
]
