"""The ranking rule of the extract contract (shared/spec/waiting-list-extract.md, "Queue and
position"): within a queue, ranked pathways are ordered by band, then RTT clock start (longest
wait first), then pathway identifier."""

# Procedure_Priority_Code (Royal College of Surgeons / NHS England clinical priority) -> band.
BAND_BY_PROCEDURE_PRIORITY = {"P1a": 1, "P1b": 2, "P2": 3, "P3": 4, "P4": 5}
# P5 and P6: the patient chose to postpone; they stay on the list but are not ranked.
UNRANKED_PRIORITIES = frozenset({"P5", "P6"})
# With no procedure priority, the referral's PRIORITY_TYPE_CODE decides.
BAND_BY_PRIORITY_TYPE = {"3": 2, "2": 3, "1": 5, "": 6}

PROCEDURE_PRIORITIES = frozenset(BAND_BY_PROCEDURE_PRIORITY) | UNRANKED_PRIORITIES
PRIORITY_TYPES = frozenset(BAND_BY_PRIORITY_TYPE)


def band(procedure_priority: str, priority_type: str) -> int | None:
    """The pathway's ranking band (1 is most urgent), or None if it is not ranked."""
    if procedure_priority in UNRANKED_PRIORITIES:
        return None
    if procedure_priority:
        return BAND_BY_PROCEDURE_PRIORITY[procedure_priority]
    return BAND_BY_PRIORITY_TYPE[priority_type]
