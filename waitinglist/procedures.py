"""Plain names for common planned procedures (OPCS-4 codes, NHS Digital's classification).

The patient page shows these words rather than the code; a code not listed here is not shown
(a bare code means nothing to a patient). Extend the list as trusts need.
"""

PROCEDURES: dict[str, str] = {
    "W37.1": "hip replacement",
    "W38.1": "hip replacement",
    "W39.1": "hip replacement",
    "W40.1": "knee replacement",
    "W41.1": "knee replacement",
    "W42.1": "knee replacement",
    "W82.3": "keyhole knee surgery",
    "C71.2": "cataract surgery",
    "C75.1": "cataract surgery with a lens implant",
    "F34.1": "tonsil removal",
    "E20.1": "adenoid removal",
    "D15.1": "grommets for the ears",
    "M65.1": "prostate surgery",
    "M45.9": "bladder examination (cystoscopy)",
    "T20.1": "hernia repair",
    "J18.3": "gallbladder removal (keyhole)",
    "H51.1": "haemorrhoid surgery",
    "Q07.4": "hysterectomy",
    "Q18.1": "womb examination (hysteroscopy)",
}


def procedure_name(code: str) -> str:
    return PROCEDURES.get(code, "")
