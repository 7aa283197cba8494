"""Staff editing in the Django admin.

Who may do what is decided in members/permissions.py; every view and action
here asks it, so the rules hold even for a hand-made request. Organisations,
memberships and declared figures keep a full change history
(django-simple-history) with a field-by-field diff and revert.

One module per area: organisations, memberships, declarations, reference
(sources, regions, sectors, admission rules), requests (what editors ask
the secretariat to add), rounds (opening a figures round, its reminders) and
staff (editors, users); the admission rules'
warnings on saving are in admission;
what their ModelAdmins share is in mixins and history, the list filters and
paginator in filters, CSV import and export in csv. Importing this package
(the admin's autodiscovery does) registers every ModelAdmin.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from members.admin import declarations, memberships, organisations, reference, requests, rounds, staff
from members.admin.mixins import CheckedInitialMixin, CheckedListMixin

__all__ = ["declarations", "memberships", "organisations", "reference", "requests", "rounds", "staff"]

# Every list of the site, those of Django's and django-axes' ModelAdmins too (registered
# before this app's, which comes last in INSTALLED_APPS), answers a parameter it cannot
# use with the list and a message, never an error; every add form pre-filled from its
# address drops an id no key can hold.
for model, model_admin in list(admin.site._registry.items()):
    if not isinstance(model_admin, CheckedListMixin):
        admin_class = type(model_admin)
        admin.site.unregister(model)
        checked = (CheckedListMixin, CheckedInitialMixin, admin_class)
        admin.site.register(model, type(admin_class.__name__, checked, {}))

admin.site.site_header = _("Register of co-operative federations")
admin.site.site_title = _("Register administration")
admin.site.index_title = _("Staff workspace")
