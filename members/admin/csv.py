"""CSV and XLSX import and export in the admin, as a mixin for OrganisationAdmin.

Import is upload → mapping (when the file has headers the tables of synonyms
do not know, or lacks the kind) → preview → confirm. The mapping step lets
the user say which column each unknown header is, or ignore it, and set
defaults for missing columns; those choices (the "options", a JSON dict that
plan_import() takes) are remembered per user and set of headers in the
database (ImportMapping), because a session does not outlive signing out.
The preview writes nothing; the file waits in the session (compressed) with
its options between the steps, so any application server can take the next
one, and each step names the file's hash so that a second upload in another
tab cannot be confirmed by mistake. The file is checked again on
confirmation, against the register as it is then.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import permissions
from members.admin.mixins import ModelAdminBase
from members.csv_io import (
    ImportPlan,
    StalePlanError,
    apply_import,
    export_options,
    export_response,
    max_import_bytes,
    plan_import,
    too_large_error,
)
from members.csv_io.columns import BY_HEADER, COLUMNS, header_key
from members.csv_io.parsing import DEFAULTABLE, ImportOptions, file_format, read_file
from members.csv_io.template_file import TEMPLATE_COLUMNS, template_csv, template_xlsx
from members.models import ImportMapping, Membership, Organisation

SESSION_KEY = "members_csv_import"
# The preview shows this many rows with changes, and every error up to this many.
PREVIEW_ROWS = 500
IGNORE = ""


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(
            "XLSX (its first sheet), or CSV in UTF-8 separated by commas or semicolons; the export's "
            "format too."
        ),
    )


def headers_key(headers: list[str]) -> str:
    """The key a mapping is remembered by: the file's headers, folded and sorted, hashed."""
    folded = sorted({header_key(header) for header in headers if header_key(header)})
    return hashlib.sha256("\n".join(folded).encode()).hexdigest()


def _column_choices() -> list[tuple[str, str]]:
    return [(IGNORE, _("— ignore this column —")), *((c.header, f"{c.label} ({c.header})") for c in COLUMNS)]


class MappingForm(forms.Form):
    """One choice per header the import does not know, and a default for each missing column."""

    def __init__(self, unknown: list[str], missing: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unknown = unknown
        self.missing = missing
        for index, header in enumerate(unknown):
            self.fields[f"map-{index}"] = forms.ChoiceField(
                label=header, choices=_column_choices, required=False
            )
        for name in missing:
            column = BY_HEADER[name]
            label = _("%(column)s for every row") % {"column": column.label}
            field: forms.Field
            if name == "kind":
                choices = [("", "—"), *Organisation.Kind.choices]
                field = forms.ChoiceField(label=label, choices=choices, required=False)
            elif name == "category":
                choices = [("", "—"), *Membership.Category.choices]
                field = forms.ChoiceField(label=label, choices=choices, required=False)
            else:
                field = forms.CharField(label=label, required=False, max_length=500)
            self.fields[f"default-{name}"] = field

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[f"map-{index}"] for index in range(len(self.unknown))]

    def default_fields(self) -> list[forms.BoundField]:
        return [self[f"default-{name}"] for name in self.missing]

    def options(self, file_format: str) -> ImportOptions:
        data = self.cleaned_data
        return {
            "format": file_format,
            "mapping": {header: data[f"map-{index}"] for index, header in enumerate(self.unknown)},
            "defaults": {name: data[f"default-{name}"] for name in self.missing if data[f"default-{name}"]},
        }

    @staticmethod
    def initial_from(options: ImportOptions, unknown: list[str], missing: list[str]) -> dict[str, str]:
        mapping, defaults = options.get("mapping") or {}, options.get("defaults") or {}
        initial = {f"map-{i}": mapping.get(h, IGNORE) for i, h in enumerate(unknown)}
        initial.update({f"default-{name}": defaults.get(name, "") for name in missing})
        return initial


class CsvImportExportMixin(ModelAdminBase):
    """Adds "Import CSV", "Export selected to CSV" and "Export all that the filters select"."""

    change_list_template = "admin/members/organisation/change_list_csv.html"

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="{}_{}_import_csv".format(*info),
            ),
            path(
                "import-template.<str:file_format>",
                self.admin_site.admin_view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            path(
                "export-csv/",
                self.admin_site.admin_view(self.export_csv_view),
                name="{}_{}_export_csv".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_csv_import_permission(self, request: HttpRequest) -> bool:
        return permissions.can_import(request.user)

    def has_csv_export_permission(self, request: HttpRequest) -> bool:
        return permissions.can_export(request.user)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if self.has_csv_export_permission(request):
            actions.setdefault("export_selected_csv", self.get_action("export_selected_csv"))
        return actions

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "csv_import_allowed": self.has_csv_import_permission(request),
            "csv_export_allowed": self.has_csv_export_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Export selected organisations to CSV"))
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponseBase:
        if not self.has_csv_export_permission(request):
            raise PermissionDenied
        return export_response(queryset, request, prefix="organisations-selected")

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every organisation the changelist's current filters and search select."""
        if not self.has_csv_export_permission(request):
            raise PermissionDenied
        options = export_options(request.GET)
        # The changelist refuses parameters it does not know; the export's own go first.
        params = request.GET.copy()
        for name in ("bom", "delimiter"):
            params.pop(name, None)
        request.GET = params  # type: ignore[assignment]  # the stubs type request.GET as never replaced
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # The list says which of its filters it could not use (CheckedListMixin).
            messages.error(request, _("Nothing was exported: choose the list's filters again, then export."))
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        params.update({"bom": "1" if options["bom"] else "", "delimiter": options["delimiter"]})
        return export_response(queryset, request, prefix="organisations")

    def import_template_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        """The import's template, with human headers and one example row."""
        if not self.has_csv_import_permission(request):
            raise PermissionDenied
        if file_format == "xlsx":
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            response = HttpResponse(template_xlsx(), content_type=content_type)
        elif file_format == "csv":
            response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
        else:
            raise Http404
        response["Content-Disposition"] = f'attachment; filename="register-import-template.{file_format}"'
        return response

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_csv_import_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import organisations and memberships"),
            "max_size": filesizeformat(max_import_bytes()),
            "preview_rows": PREVIEW_ROWS,
            "columns": [BY_HEADER[name] for name in TEMPLATE_COLUMNS],
            "info": (self.opts.app_label, self.opts.model_name),
        }
        form = UploadForm()
        if request.method == "POST" and "confirm" in request.POST:
            response = self._confirm(request, context)
            if response is not None:
                return response
        elif request.method == "POST" and "map" in request.POST:
            self._map(request, context)
        elif request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                self._upload(request, form.cleaned_data["file"], context)
        context["form"] = form
        context["media"] = self.media + form.media
        return TemplateResponse(request, "admin/members/organisation/import_csv.html", context)

    def _remembered(self, request: HttpRequest, headers: list[str]) -> ImportOptions:
        """The user's choices for a file with these headers; else, header by header, their latest ones."""
        mappings = ImportMapping.objects.filter(user_id=cast(int, request.user.pk))
        exact = mappings.filter(headers=headers_key(headers)).first()
        if exact is not None:
            return cast(ImportOptions, exact.options)
        merged: ImportOptions = {"mapping": {}, "defaults": {}}
        for options in reversed(list(mappings.values_list("options", flat=True)[:20])):
            merged["mapping"].update((options or {}).get("mapping") or {})
        return merged

    def _upload(self, request: HttpRequest, upload: UploadedFile, context: dict[str, Any]) -> None:
        request.session.pop(SESSION_KEY, None)
        size = upload.size or 0
        if size > max_import_bytes():
            # Refused before reading it into memory.
            plan = ImportPlan(errors=[too_large_error(size)])
            self._describe(context, plan, upload.name, "")
            return
        data = upload.read()
        digest = hashlib.sha256(data).hexdigest()
        parsed = read_file(data, header_only=True)
        stored = {
            "sha256": digest,
            "name": upload.name,
            "data": base64.b64encode(zlib.compress(data)).decode("ascii"),
            "options": {"format": file_format(data)},
        }
        unknown = [h for h in parsed.headers if h and parsed.matched.get(h) is None and "\x00" not in h]
        missing = [name for name in DEFAULTABLE if name not in parsed.columns]
        if parsed.readable and parsed.headers and (unknown or "kind" in missing):
            request.session[SESSION_KEY] = {**stored, "unknown": unknown, "missing": missing}
            remembered = self._remembered(request, parsed.headers)
            initial = MappingForm.initial_from(remembered, unknown, missing)
            self._show_mapping(
                context, MappingForm(unknown, missing, initial=initial), stored, parsed.headers
            )
            return
        self._preview(request, data, stored, context)

    def _show_mapping(
        self, context: dict[str, Any], form: MappingForm, stored: dict[str, Any], headers: list[str]
    ) -> None:
        context.update(
            {
                "mapping_form": form,
                "file_name": stored["name"],
                "sha256": stored["sha256"],
                "matched_headers": [h for h in headers if h and h not in form.unknown],
            }
        )

    def _map(self, request: HttpRequest, context: dict[str, Any]) -> None:
        stored = request.session.get(SESSION_KEY)
        if not stored or stored["sha256"] != request.POST.get("sha256") or "unknown" not in stored:
            messages.error(
                request, _("This preview has expired or was replaced by another; upload the file again.")
            )
            return
        form = MappingForm(stored["unknown"], stored["missing"], request.POST)
        if not form.is_valid():
            self._show_mapping(context, form, stored, stored["unknown"])
            return
        options = form.options(stored["options"].get("format", "csv"))
        data = zlib.decompress(base64.b64decode(stored["data"]))
        headers = read_file(data, header_only=True).headers
        ImportMapping.objects.update_or_create(
            user_id=cast(int, request.user.pk),
            headers=headers_key(headers),
            defaults={"options": {"mapping": options["mapping"], "defaults": options["defaults"]}},
        )
        self._preview(request, data, {**stored, "options": options}, context)

    def _preview(
        self, request: HttpRequest, data: bytes, stored: dict[str, Any], context: dict[str, Any]
    ) -> None:
        options = cast(ImportOptions, stored["options"])
        plan = plan_import(data, options)
        request.session.pop(SESSION_KEY, None)
        if plan.is_valid and plan.has_changes:
            # Beside the file, the options it is read with: the confirmation plans it the same way.
            request.session[SESSION_KEY] = {key: stored[key] for key in ("sha256", "name", "data", "options")}
        self._describe(context, plan, stored["name"], stored["sha256"])
        context["options"] = options

    def _describe(self, context: dict[str, Any], plan: ImportPlan, name: str | None, digest: str) -> None:
        context.update(
            {
                "plan": plan,
                "file_name": name,
                "sha256": digest,
                "counts": plan.counts(),
                "errors": plan.errors[:PREVIEW_ROWS],
                "error_rows": [(error, plan.column_name(error)) for error in plan.errors[:PREVIEW_ROWS]],
                "warning_rows": [(w, plan.column_name(w)) for w in plan.warnings[:PREVIEW_ROWS]],
                "changed_rows": [row for row in plan.rows if row.action != "unchanged"][:PREVIEW_ROWS],
            }
        )

    def _confirm(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse | None:
        stored = request.session.get(SESSION_KEY)
        if not stored or stored["sha256"] != request.POST.get("sha256"):
            messages.error(
                request, _("This preview has expired or was replaced by another; upload the file again.")
            )
            return None
        data = zlib.decompress(base64.b64decode(stored["data"]))
        plan = plan_import(data, stored.get("options"))
        if not plan.is_valid:
            # The register changed since the preview.
            request.session.pop(SESSION_KEY, None)
            self._describe(context, plan, stored["name"], stored["sha256"])
            return None
        try:
            # Only administrators reach this far (can_import), so the user is signed in.
            counts = apply_import(plan, user=cast(AbstractBaseUser, request.user))
        except StalePlanError as stale:
            # Changed again between this check and the write (another import, a member of staff).
            request.session.pop(SESSION_KEY, None)
            plan.errors = stale.errors
            self._describe(context, plan, stored["name"], stored["sha256"])
            return None
        request.session.pop(SESSION_KEY, None)
        messages.success(
            request,
            _(
                "Imported %(name)s: %(created)d organisations created, %(updated)d updated; "
                "%(m_created)d memberships created, %(m_updated)d updated."
            )
            % {
                "name": stored["name"],
                "created": counts["organisations_created"],
                "updated": counts["organisations_updated"],
                "m_created": counts["memberships_created"],
                "m_updated": counts["memberships_updated"],
            },
        )
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
