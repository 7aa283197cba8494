"""The yearly figures round: member organisations declare their own figures through a signed link.

- links.py: the signed personal link of a RoundAnswer, and reading one back.
- mail.py: the translated invitation, reminder and "returned" e-mails, sent on the task queue.
- review.py: approving an answer (it becomes sourced DeclaredFigures) or returning it.
- dashboard.py: a round at a glance (answered, late, bounced) and the coverage it brings.
"""
