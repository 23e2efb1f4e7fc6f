"""Words too common to tell questions or passages apart: left out of lexical matching
(qa/normalize.py) and of late interaction's tokens (index/tokens.py)."""

STOPWORDS = frozenset(
    "a an and are as at be but by can do does did for from has have how i if in into is it "
    "its me my of on or our so that the their them then there these they this to us was we "
    "what when where which who why will with you your yours i'm im u ur about any all would "
    "could should may might also just not no yes".split()
)
