"""The staff advice area: trust editors and clinical reviewers write, review and publish their
trust's advice. Every query starts from the signed-in person's trust."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from advice import services
from advice.forms import ArticleForm
from advice.models import Article
from portal.access import trust_role_required
from portal.roles import Role

advice_staff_required = trust_role_required(Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER)


def _articles(request: HttpRequest):
    return request.user.provider.articles.all()


@advice_staff_required
def article_list(request: HttpRequest) -> HttpResponse:
    articles = _articles(request).annotate(
        helpful=Count("feedback", filter=Q(feedback__helpful=True)),
        unhelpful=Count("feedback", filter=Q(feedback__helpful=False)),
    )
    context = {"articles": articles, "today": timezone.localdate()}
    return render(request, "advice/staff/list.html", context)


@advice_staff_required
def edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    article = get_object_or_404(_articles(request), pk=pk) if pk else None
    form = ArticleForm(request.POST or None, instance=article)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" not in request.POST:
            saved = form.save(commit=False)
            saved.provider = request.user.provider
            saved.author = saved.author or request.user
            services.save(saved, request.user)
            messages.success(request, "Saved. Patients see it only once a clinician publishes it.")
            return redirect("advice:staff_edit", pk=saved.pk)
        preview = form.instance
    context = {"form": form, "article": article, "preview": preview}
    if preview:
        context["reading_age"] = services.reading_age(preview.body)
    return render(request, "advice/staff/edit.html", context)


@advice_staff_required
@require_POST
def live_preview(request: HttpRequest) -> HttpResponse:
    """The article as a patient will see it, for the editor's live preview."""
    article = Article(
        title=request.POST.get("title", ""),
        summary=request.POST.get("summary", ""),
        body=request.POST.get("body", ""),
    )
    context = {"preview": article, "reading_age": services.reading_age(article.body)}
    return render(request, "advice/staff/preview.html", context)


@advice_staff_required
@require_POST
def change_status(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(_articles(request), pk=pk)
    steps = {
        "submit": lambda: services.submit_for_review(article, request.user),
        "publish": lambda: services.publish(article, request.user, timezone.localdate()),
        "archive": lambda: services.archive(article, request.user),
    }
    step = steps.get(request.POST.get("step"))
    try:
        if step is None:
            raise services.NotAllowed("Choose what to do with the article.")
        step()
    except services.NotAllowed as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{article.title}: {article.get_status_display().lower()}.")
    return redirect("advice:staff_edit", pk=article.pk)


@advice_staff_required
def history(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(_articles(request), pk=pk)
    versions = list(article.versions.select_related("saved_by"))
    by_number = {v.number: v for v in versions}
    newer = by_number.get(_number(request.GET.get("version")), versions[0] if versions else None)
    older = by_number.get(newer.number - 1) if newer else None
    context = {
        "article": article,
        "versions": versions,
        "newer": newer,
        "older": older,
        "changes": services.diff(older, newer) if older and newer else [],
    }
    return render(request, "advice/staff/history.html", context)


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


@advice_staff_required
@require_POST
def restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = get_object_or_404(_articles(request), pk=pk)
    version = get_object_or_404(article.versions, number=number)
    services.restore(article, version, request.user)
    messages.success(request, f"Version {number} restored as a new draft.")
    return redirect("advice:staff_edit", pk=article.pk)


@advice_staff_required
def preview_as_patient(request: HttpRequest) -> HttpResponse:
    """The advice a patient with one of the trust's pathways would see, and in what order."""
    identifier = request.GET.get("pathway", "").strip()
    pathway = None
    if identifier:
        pathway = (
            request.user.provider.pathways.select_related("queue")
            .filter(identifier=identifier)
            .first()
        )
    advice = Article.objects.for_pathways([pathway])[pathway.pk] if pathway else []
    context = {"identifier": identifier, "pathway": pathway, "advice": advice}
    return render(request, "advice/staff/preview_as_patient.html", context)
