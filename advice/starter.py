"""The starter library: example advice written for Wait Well, for a trust's clinicians to
review before patients rely on it. Each file in advice/starter/ is a few `name: value` lines
(title, summary, and optionally function, procedure, list), a line `---`, then Markdown."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from advice import services
from advice.models import Article
from waitinglist.models import Provider

FOLDER = Path(__file__).resolve().parent / "starter"
FIRST_REVIEW = timedelta(days=90)  # examples are due for a clinician's review soon


@dataclass
class Example:
    title: str
    summary: str
    body: str
    treatment_function: str = ""
    procedure_code: str = ""
    list_type: str = ""


def examples() -> list[Example]:
    found = []
    for path in sorted(FOLDER.glob("*.md")):
        head, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
        fields = dict(line.split(": ", 1) for line in head.splitlines() if line.strip())
        found.append(
            Example(
                title=fields["title"],
                summary=fields["summary"],
                body=body.strip() + "\n",
                treatment_function=fields.get("function", ""),
                procedure_code=fields.get("procedure", ""),
                list_type=fields.get("list", ""),
            )
        )
    return found


@transaction.atomic
def load(provider: Provider, publish: bool, today: date) -> int:
    """Adds the examples the trust does not have yet (by title); returns how many it added."""
    have = set(provider.articles.values_list("title", flat=True))
    added = 0
    for example in examples():
        if example.title in have:
            continue
        article = Article(
            provider=provider, is_example=True, review_by=today + FIRST_REVIEW, **vars(example)
        )
        services.save(article, None, note="Starter library example")
        if publish:
            article.status = Article.Status.PUBLISHED
            article.published_at = timezone.now()
            article.save()
        added += 1
    return added
