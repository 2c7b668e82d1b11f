from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.order_list, name="orders"),
    path("<id:pk>/", views.order_detail, name="order_detail"),
    path("<id:pk>/status/", views.order_status, name="order_status"),
]
