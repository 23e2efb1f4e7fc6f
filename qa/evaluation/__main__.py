"""`python -m qa.evaluation QUESTIONS.jsonl ...`: the same command as `policy-qa eval`."""

from qa.evaluation.command import main

raise SystemExit(main())
