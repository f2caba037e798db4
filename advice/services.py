"""What trust staff do with advice, and what the daily review check does: plain functions that
views, commands and tasks call."""

import difflib
from datetime import date, timedelta

import readability
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from advice.markdown import plain_text
from advice.models import Article, ArticleVersion
from portal.mail import send_templated_email
from portal.roles import Role
from waitinglist.patient_page import patient_data_changed

REVIEW_EVERY = timedelta(days=365)  # a newly published article is due for review in a year
WITHDRAW_AFTER = timedelta(days=90)  # past its review-by date by this much: taken down


class NotAllowed(Exception):
    """The step is not open to this person, or not from the article's state; says why."""


@transaction.atomic
def save(article: Article, user, note: str = "") -> ArticleVersion:
    """Saves the article and keeps the save as a new version. A published article that is
    edited goes back to draft: changed advice needs a clinical review again."""
    if article.status in (Article.Status.PUBLISHED, Article.Status.REVIEW) and article.pk:
        article.status = Article.Status.DRAFT
    article.save()
    number = (article.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    content = {name: getattr(article, name) for name in ArticleVersion.CONTENT}
    return ArticleVersion.objects.create(
        article=article, number=number, saved_by=user, note=note, **content
    )


def submit_for_review(article: Article, user) -> None:
    if article.status != Article.Status.DRAFT:
        raise NotAllowed("Only a draft can be sent for clinical review.")
    article.status = Article.Status.REVIEW
    article.save(update_fields=["status", "updated_at"])


def publish(article: Article, reviewer, today: date) -> None:
    """Only a clinical reviewer of the article's trust, who did not write it, publishes it."""
    if not reviewer.has_role(Role.CLINICAL_REVIEWER) or reviewer.provider_id != article.provider_id:
        raise NotAllowed("Only a clinical reviewer at this trust can publish advice.")
    if article.author_id == reviewer.pk:
        raise NotAllowed("Another clinical reviewer must publish advice that you wrote.")
    if article.status != Article.Status.REVIEW:
        raise NotAllowed("Send the article for clinical review before publishing it.")
    article.status = Article.Status.PUBLISHED
    article.reviewer = reviewer
    article.last_reviewed = today
    if article.review_by <= today:
        article.review_by = today + REVIEW_EVERY
    article.published_at = timezone.now()
    article.reminder_sent_at = article.withdrawn_at = None
    article.save()


def archive(article: Article, user) -> None:
    article.status = Article.Status.ARCHIVED
    article.save(update_fields=["status", "updated_at"])


def restore(article: Article, version: ArticleVersion, user) -> ArticleVersion:
    """The article's content as that version had it, saved as a new draft version."""
    for name in ArticleVersion.CONTENT:
        setattr(article, name, getattr(version, name))
    article.status = Article.Status.DRAFT
    return save(article, user, note=f"Restored version {version.number}")


def diff(older: ArticleVersion, newer: ArticleVersion) -> list[tuple[str, str]]:
    """Line-by-line changes from one version to another: ("removed" | "added" | "same", line)."""
    lines = []
    for name in ArticleVersion.CONTENT:
        before = str(getattr(older, name)).splitlines()
        after = str(getattr(newer, name)).splitlines()
        if before == after:
            continue
        lines.append(("heading", name.replace("_", " ").capitalize()))
        for line in difflib.ndiff(before, after):
            kind = {"- ": "removed", "+ ": "added", "  ": "same"}.get(line[:2])
            if kind:
                lines.append((kind, line[2:]))
    return lines


def reading_age(markdown: str) -> int | None:
    """The text's reading age in years (Flesch-Kincaid grade + 5), or None if too short."""
    text = plain_text(markdown).strip()
    if len(text.split()) < 30:
        return None
    grade = readability.getmeasures(text, lang="en")["readability grades"]["Kincaid"]
    return max(5, round(grade + 5))


# --- The daily review check (Celery beat) ---------------------------------------------------


def remind_and_withdraw(today: date) -> tuple[int, int]:
    """Emails the owner of each article newly past its review-by date, once; withdraws from
    patients those more than 90 days past it, and tells the owner. Returns (reminded, withdrawn).
    Each article is claimed with a conditional update, so two workers never both send."""
    published = Article.objects.published()
    reminded = withdrawn = 0
    for pk in published.filter(review_by__lt=today - WITHDRAW_AFTER).values_list("pk", flat=True):
        now = timezone.now()
        if published.filter(pk=pk).update(
            status=Article.Status.ARCHIVED, withdrawn_at=now, updated_at=now
        ):
            _tell_owner(Article.objects.get(pk=pk), "withdrawn", today)
            withdrawn += 1
    if withdrawn:
        patient_data_changed()  # an update() sends no signal
    due = published.filter(review_by__lt=today, reminder_sent_at__isnull=True)
    for pk in due.values_list("pk", flat=True):
        if due.filter(pk=pk).update(reminder_sent_at=timezone.now()):
            _tell_owner(Article.objects.get(pk=pk), "review_due", today)
            reminded += 1
    return reminded, withdrawn


def _tell_owner(article: Article, kind: str, today: date) -> None:
    owner = article.author or article.reviewer
    if owner is None or not owner.email:
        return
    context = {
        "article": article,
        "withdraw_on": article.review_by + WITHDRAW_AFTER,
        "url": f"{settings.SITE_URL}/staff/advice/{article.pk}/",
    }
    send_templated_email(f"advice/email/{kind}", context, owner.email)
