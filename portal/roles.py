"""The roles people hold in Wait Well, kept as Django groups."""

from enum import StrEnum


class Role(StrEnum):
    PATIENT = "Patient"
    TRUST_EDITOR = "Trust editor"
    CLINICAL_REVIEWER = "Clinical reviewer"
    TRUST_ADMIN = "Trust admin"
    GP_PRACTICE = "GP practice"


# Roles that work for a hospital trust and see the trust's staff workspace.
TRUST_STAFF = (Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN)

# Every role that works with patients' records rather than for themselves: these accounts are
# created by invitation from a trust admin and must use two-step verification.
STAFF_ROLES = (*TRUST_STAFF, Role.GP_PRACTICE)
