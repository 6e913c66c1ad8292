"""What a learner may skip: the helpers the steps import, and two products of their own.

At the root, what the steps import: config, app (the factory), context, tenant (discovery, the
verifier, the logout URL), check_session, pages, errors, forms, cookies, profile, runner.
middleware/: what the factory wires around every step (CSRF, headers, host names, the signed
cookie's upkeep, HEAD, log redaction) — never imported by a step.
doctor: the configuration doctor, `python -m shared.doctor`.
dev_tenant/: the local Auth0-compatible tenant, `python -m shared.dev_tenant`.
exercise/: the workshop's exercises and the room's board, `python -m shared.exercise`.
"""
