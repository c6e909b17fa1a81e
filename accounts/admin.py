"""django-otp registers an admin for TOTP devices; Relapp does not use it.

That admin shows each device's secret (and a QR code of it) and lets an
administrator add or confirm a device for someone else, none of it in the
change log. Users enrol their own authenticator on the account page
(accounts.authenticator), which logs it.
"""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
