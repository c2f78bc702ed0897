"""Every router of the application, in one place."""

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    from app.api import (
        awards,
        clusters,
        enterprises,
        evaluation,
        filings,
        integration,
        policies,
        policy_documents,
        pool_definitions,
        pools,
        registers,
        support,
        support_visits,
        targets,
    )

    return [
        enterprises.router,
        awards.router,
        policies.router,
        policy_documents.router,
        pool_definitions.router,  # before pools: /api/v1/pools/definitions is not a pool code
        pools.router,
        targets.router,
        filings.router,
        integration.router,
        support.router,
        support_visits.router,
        clusters.router,
        registers.router,
        evaluation.router,
    ]


def web_routers() -> list[APIRouter]:
    from app.web import (
        admin,
        auth,
        awards,
        enterprises,
        evaluation,
        filings,
        home,
        policies,
        policy_admin,
        pool_admin,
        pools,
        registers,
        support,
        targets,
    )

    return [
        auth.router,
        home.router,
        enterprises.router,
        awards.router,
        policies.router,
        policy_admin.router,
        pool_admin.router,
        pools.router,
        targets.router,
        filings.router,
        support.router,
        registers.router,
        evaluation.router,
        admin.router,
    ]
