"""Words too common to tell questions or passages apart: left out of lexical matching
(qa/normalize.py) and of late interaction's tokens (index/tokens.py). They also tell
whether a text is English at all (`looks_english`): the packaged model is English-only."""

import re

STOPWORDS = frozenset(
    "a an and are as at be but by can do does did for from has have how i if in into is it "
    "its me my of on or our so that the their them then there these they this to us was we "
    "what when where which who why will with you your yours i'm im u ur about any all would "
    "could should may might also just not no yes".split()
)


ENGLISH_SHARE = 0.12  # English policies here: 0.32-0.50 of words are these; German 0.04
_LETTERS = re.compile(r"[^\W\d_]+")


def looks_english(text: str, min_words: int = 200) -> bool:
    """False when a long enough text has few of these words: answers from an
    English-only model on it would be quotes picked nearly at random."""
    words = _LETTERS.findall(text.lower())
    if len(words) < min_words:
        return True
    return sum(w in STOPWORDS for w in words) / len(words) >= ENGLISH_SHARE
