"""The public advice library: no sign-in, so GPs can send patients straight to it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from advice.forms import FeedbackForm
from advice.models import Article
from portal.context_processors import site_trust

FEEDBACK_GIVEN = "advice_feedback_given"


def _published():
    trust = site_trust()
    articles = Article.objects.published()
    return articles.filter(provider=trust) if trust else articles


def library(request: HttpRequest) -> HttpResponse:
    articles = _published().select_related("provider")
    general = [a for a in articles if a.specificity_label == "general"]
    specific = [a for a in articles if a.specificity_label != "general"]
    return render(request, "advice/library.html", {"general": general, "specific": specific})


def article(request: HttpRequest, pk: int) -> HttpResponse:
    shown = get_object_or_404(_published().select_related("provider"), pk=pk)
    given = pk in request.session.get(FEEDBACK_GIVEN, [])
    context = {"article": shown, "form": FeedbackForm(), "given": given}
    return render(request, "advice/article.html", context)


@require_POST
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    shown = get_object_or_404(_published(), pk=pk)
    given = request.session.get(FEEDBACK_GIVEN, [])
    form = FeedbackForm(request.POST)
    if pk in given:
        return redirect("advice:article", pk=pk)  # counted once a reader
    if not form.is_valid():
        context = {"article": shown, "form": form, "given": False}
        return render(request, "advice/article.html", context, status=400)
    shown.feedback.create(**form.cleaned_data)
    request.session[FEEDBACK_GIVEN] = [*given, pk][-100:]
    messages.success(request, "Thank you for your feedback.")
    return redirect("advice:article", pk=pk)
