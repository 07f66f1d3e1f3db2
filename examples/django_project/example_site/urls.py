from django.contrib.auth import views as auth_views
from django.urls import path

from example_site import views
from protekt.contrib.django.forms import ProtektPasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("register/", views.register, name="register"),
    path("mfa/", views.mfa, name="mfa"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=ProtektPasswordResetForm),
        name="password_reset",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path("hooks/", views.receive, name="hooks"),
]
