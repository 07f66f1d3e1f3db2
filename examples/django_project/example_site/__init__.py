"""A small Django site that emits protekt events on sign-in, sign-out,
registration, password reset requests and a second factor, and receives them at
/hooks/ through ``protekt.contrib.django.webhook_receiver``."""
