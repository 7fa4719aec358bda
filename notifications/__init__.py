"""Push notifications and the in-app inbox.

Devices, inbox, outbox and sending through Firebase Cloud Messaging. Knows users only through
``settings.AUTH_USER_MODEL``; the rest of the code calls ``notifications.services.notify``.
"""
