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

The confirmation only stores the file and its options as an import job and
enqueues it (members/csv_io/jobs.py): a worker checks it again against the
register as it is then and applies it, all or nothing, however long it takes.
The job's page shows its progress and its result; the import page lists the
user's recent jobs.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members import permissions
from members.admin.filters import matching_memberships, membership_parameters
from members.admin.mixins import ModelAdminBase
from members.csv_io import (
    ImportPlan,
    export_options,
    export_response,
    max_import_bytes,
    plan_import,
    too_large_error,
)
from members.csv_io.columns import BY_HEADER, COLUMNS, header_key
from members.csv_io.export import ExportOptions
from members.csv_io.jobs import restart_job, start_job
from members.csv_io.parsing import DEFAULTABLE, ImportOptions, file_format, read_file
from members.csv_io.template_file import TEMPLATE_COLUMNS, template_csv, template_xlsx
from members.models import ImportJob, ImportMapping, Membership, Organisation

SESSION_KEY = "members_csv_import"
# The preview shows this many rows with changes, and every error up to this many.
PREVIEW_ROWS = 500
# The import page lists this many of the user's latest jobs.
RECENT_JOBS = 10
IGNORE = ""


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(
            "XLSX (its first sheet), or CSV in UTF-8 separated by commas or semicolons; the export's "
            "format too."
        ),
    )


class ExportForm(forms.Form):
    """How an export is written: the choices a spreadsheet needs, on the screen rather than in the address."""

    delimiter = forms.ChoiceField(
        label=gettext_lazy("Separator"),
        choices=[
            ("comma", gettext_lazy("Comma (,)")),
            (
                "semicolon",
                gettext_lazy("Semicolon (;): for spreadsheets set to French, Spanish and other languages"),
            ),
        ],
        initial="comma",
        widget=forms.RadioSelect,
    )
    bom = forms.BooleanField(
        label=gettext_lazy("Mark the file as UTF-8 (byte-order mark)"),
        help_text=gettext_lazy("Tick it for Excel, which otherwise misreads accented letters."),
        required=False,
    )

    def options(self) -> ExportOptions:
        return export_options(self.cleaned_data)


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
                "import-csv/jobs/<int:pk>/",
                self.admin_site.admin_view(self.import_job_view),
                name="{}_{}_import_job".format(*info),
            ),
            path(
                "import-csv/jobs/<int:pk>/status/",
                self.admin_site.admin_view(self.import_job_status_view),
                name="{}_{}_import_job_status".format(*info),
            ),
            path(
                "import-csv/jobs/<int:pk>/restart/",
                self.admin_site.admin_view(require_POST(self.import_job_restart_view)),
                name="{}_{}_import_job_restart".format(*info),
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
            path(
                "export/",
                self.admin_site.admin_view(self.export_options_view),
                name="{}_{}_export".format(*info),
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
        """Ask how the file is written (the same screen as the filtered export), then write it."""
        if not self.has_csv_export_permission(request):
            raise PermissionDenied
        form = ExportForm(request.POST if "download" in request.POST else None)
        if form.is_valid():
            return export_response(queryset, request, prefix="organisations-selected", options=form.options())
        selected = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        return self._export_screen(request, form, count=len(selected), selected=selected)

    def export_options_view(self, request: HttpRequest) -> HttpResponseBase:
        """The screen of "Export all that the filters select": how the file is written, then the download."""
        if not self.has_csv_export_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, _("Nothing was exported: choose the list's filters again, then export."))
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        memberships = matching_memberships(membership_parameters(request))
        return self._export_screen(
            request,
            ExportForm(),
            count=changelist.result_count,
            capped=getattr(changelist.paginator, "capped", False),
            hidden=list(request.GET.items()),
            by_membership=memberships is not None,
        )

    def _export_screen(self, request: HttpRequest, form: ExportForm, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/members/organisation/export_csv.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Export organisations to CSV"),
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                **context,
            },
        )

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every organisation the changelist's current filters and search select.

        Filtered by the memberships' criteria (a federation, a category, a
        period, current or former), the file holds only the memberships they
        describe, as the list counts them.
        """
        if not self.has_csv_export_permission(request):
            raise PermissionDenied
        options = export_options(request.GET)
        # The changelist refuses parameters it does not know; the export's own go first.
        params = request.GET.copy()
        for name in ("bom", "delimiter", "download"):  # "download": the export screen's button
            params.pop(name, None)
        request.GET = params  # type: ignore[assignment]  # the stubs type request.GET as never replaced
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # The list says which of its filters it could not use (CheckedListMixin).
            messages.error(request, _("Nothing was exported: choose the list's filters again, then export."))
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        memberships = matching_memberships(membership_parameters(request))
        return export_response(
            queryset, request, prefix="organisations", options=options, memberships=memberships
        )

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
            "import_jobs": self._visible_jobs(request)[:RECENT_JOBS],
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
        """Store the previewed file as an import job, queue it and show its page.

        The request neither plans nor writes: a worker does both, so that a file of
        any size is confirmed well within a request's time.
        """
        stored = request.session.get(SESSION_KEY)
        if not stored or stored["sha256"] != request.POST.get("sha256"):
            messages.error(
                request, _("This preview has expired or was replaced by another; upload the file again.")
            )
            return None
        data = zlib.decompress(base64.b64decode(stored["data"]))
        # Only administrators reach this far (can_import), so the user is signed in.
        job, new = start_job(
            cast(AbstractBaseUser, request.user),
            stored["name"],
            data,
            stored["sha256"],
            options=stored.get("options"),
            language=get_language() or "en",
        )
        request.session.pop(SESSION_KEY, None)
        if not new:
            messages.info(request, _("This file is already being imported: here is its job."))
        return redirect(self._job_url(job))

    # Import jobs ----------------------------------------------------------------------

    def _job_url(self, job: ImportJob, view: str = "import_job") -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}", args=[job.pk])

    def _visible_jobs(self, request: HttpRequest) -> QuerySet[ImportJob]:
        """The jobs this user may see: their own; every job for a superuser."""
        jobs = ImportJob.objects.select_related("user").defer("data")
        return jobs if request.user.is_superuser else jobs.filter(user_id=cast(int, request.user.pk))

    def _job(self, request: HttpRequest, pk: int) -> ImportJob:
        job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
        if job.user_id != request.user.pk and not request.user.is_superuser:
            raise PermissionDenied
        return job

    def _job_state(self, job: ImportJob) -> dict[str, Any]:
        """What the job page and its status view say about the job, as plain values."""
        stalled = job.stalled()
        return {
            "status": job.status,
            "status_label": str(job.get_status_display()),
            "phase": job.phase,
            "phase_label": str(job.get_phase_display()),
            "stalled": stalled,
            "finished": not job.is_active,
            "rows_planned": job.rows_planned,
            "writes_total": job.writes_total,
            "writes_done": job.writes_done,
            "restartable": job.status == ImportJob.Status.FAILED or stalled,
        }

    def import_job_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self._job(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import of %(name)s") % {"name": job.file_name},
            "job": job,
            "state": self._job_state(job),
            "status_url": self._job_url(job, "import_job_status"),
            "restart_url": self._job_url(job, "import_job_restart"),
        }
        return TemplateResponse(request, "admin/members/organisation/import_job.html", context)

    def import_job_status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The job's state as JSON, for the job page's progress bar."""
        job = self._job(request, pk)
        response = JsonResponse(self._job_state(job))
        response["Cache-Control"] = "no-store"
        return response

    def import_job_restart_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self._job(request, pk)
        if not self.has_csv_import_permission(request):
            raise PermissionDenied
        if restart_job(job):
            messages.success(request, _("The import was queued again."))
        else:
            messages.error(request, _("This job cannot be restarted: it is done or still running."))
        return redirect(self._job_url(job))
