"""Demo data for targets: the reference tables (the 2023 attachment and the 2022–2024 goals).

The migration loads them already; this makes `yumiao seed-demo` whole on a database whose
target tables were emptied.
"""

from sqlalchemy.orm import Session

from app.targets import service


def seed(session: Session) -> None:
    service.install_reference(session)
