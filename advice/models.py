"""Advice articles: written by a trust's editors, published by its clinical reviewers, matched
to patients by the specialty, procedure and list of their waits. Every save is kept."""

from datetime import date

from django.conf import settings
from django.db import models

from advice.markdown import render
from waitinglist.models import Provider
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

LIST_TYPES = [
    ("", "Any list"),
    ("IRTT", "Waiting for an operation or procedure (admitted)"),
    ("ORTT", "Waiting for an outpatient appointment"),
]


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Article.Status.PUBLISHED)

    def for_pathways(self, pathways) -> dict[int, list["Article"]]:
        """Published advice for each pathway, most specific first (procedure, then specialty,
        then everyone), in one query."""
        providers = {p.provider_id for p in pathways}
        articles = list(self.published().filter(provider__in=providers).order_by("title", "pk"))
        matched = {}
        for pathway in pathways:
            scored = [(a.specificity(pathway), a) for a in articles]
            ranked = sorted((s for s in scored if s[0]), key=lambda s: -s[0])
            matched[pathway.pk] = [article for _, article in ranked]
        return matched


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "Awaiting clinical review"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=120)
    summary = models.CharField("one-line summary", max_length=200)
    body = models.TextField(help_text="Markdown")
    # The audience: everyone, unless a specialty, a procedure (code or prefix) or a list is set.
    treatment_function = models.CharField(max_length=3, blank=True)
    procedure_code = models.CharField("OPCS-4 code or prefix", max_length=5, blank=True)
    list_type = models.CharField(max_length=4, blank=True, choices=LIST_TYPES)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text="The clinical reviewer who last published it.",
    )  # fmt: skip
    last_reviewed = models.DateField(null=True, blank=True)
    review_by = models.DateField()
    published_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(
        null=True, blank=True, help_text="Taken from patients for being too long past review."
    )
    is_example = models.BooleanField(
        default=False, help_text="From the starter library: for the trust's clinicians to review."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def html(self) -> str:
        return render(self.body)

    @property
    def audience(self) -> str:
        parts = []
        if self.procedure_code:
            parts.append(f"procedures {self.procedure_code}*")
        if self.treatment_function:
            name = TREATMENT_FUNCTIONS.get(self.treatment_function, self.treatment_function)
            parts.append(name)
        if self.list_type:
            parts.append(dict(LIST_TYPES)[self.list_type].lower())
        return ", ".join(parts) if parts else "All patients"

    def specificity(self, pathway) -> int:
        """3 for the pathway's procedure, 2 for its specialty, 1 for everyone; 0: not for it."""
        if self.list_type and self.list_type != pathway.queue.list_type:
            return 0
        if self.treatment_function and self.treatment_function != pathway.queue.treatment_function:
            return 0
        if self.procedure_code:
            return 3 if pathway.procedure_code.startswith(self.procedure_code) else 0
        return 2 if self.treatment_function else 1

    @property
    def specificity_label(self) -> str:
        if self.procedure_code:
            return "procedure"
        return "specialty" if self.treatment_function else "general"

    def is_overdue(self, today: date) -> bool:
        return self.review_by < today


class ArticleVersion(models.Model):
    """An article as one save left it: kept for ever, to compare and restore."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    summary = models.CharField(max_length=200)
    body = models.TextField()
    treatment_function = models.CharField(max_length=3, blank=True)
    procedure_code = models.CharField(max_length=5, blank=True)
    list_type = models.CharField(max_length=4, blank=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    saved_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="one_number_per_version")
        ]

    CONTENT = ["title", "summary", "body", "treatment_function", "procedure_code", "list_type"]

    def __str__(self) -> str:
        return f"version {self.number}"


class Feedback(models.Model):
    """A reader's "Was this helpful?": yes or no, and an optional comment."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return "helpful" if self.helpful else "not helpful"
