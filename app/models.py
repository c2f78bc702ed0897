"""Every model module, imported once so that Base.metadata knows the whole schema (Alembic, tests)."""

import app.datacache  # noqa: F401  (data_version)
from app.accounts import models as accounts_models  # noqa: F401
from app.audit import models as audit_models  # noqa: F401
from app.awards import models as awards_models  # noqa: F401
from app.clusters import models as clusters_models  # noqa: F401
from app.enterprises import models as enterprises_models  # noqa: F401
from app.integration import models as integration_models  # noqa: F401
from app.policies import models as policies_models  # noqa: F401
from app.pools import models as pools_models  # noqa: F401
from app.registers import models as registers_models  # noqa: F401
from app.reports import models as reports_models  # noqa: F401
from app.support import models as support_models  # noqa: F401
from app.targets import models as targets_models  # noqa: F401
