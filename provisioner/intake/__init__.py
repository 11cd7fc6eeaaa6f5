"""Intake: what a nation's forms post to, and how a submission becomes a supporter.

    request ──► core.Intake.handle ──► validate ──► Store.add (committed) ──► 303
                                              └──► Outbox.send (confirmation email)
    /api/confirm?t=      ──► Store.confirm      (double opt-in: single use, expiring)
    /api/unsubscribe?t=  ──► Store.unsubscribe  (do-not-contact, at once)

The core (`core.py`) knows nothing about the server: it takes an `IntakeRequest` and
returns an `IntakeResponse`, so the same code runs behind `provisioner serve`
(`app.py`, Starlette on uvicorn, SQLite store) and behind an AWS Lambda function
(API Gateway events, DynamoDB store). It never imports the engine: the deploy reads
the store through `provisioner.supporters.audience`.

Modules: `model` (the records), `store` (the Store protocol), `sqlite_store`,
`outbox` (eml files, SMTP, SES), `directory` (the network as the public nation.json
files describe it), `fields` (validation, same rules as ingestion), `tokens`,
`ratelimit`, `messages` (the refusal texts per language), `emails` (the confirmation
email), `core`, `app` (the ASGI app) and `sites` (static files by path and by Host).
"""
