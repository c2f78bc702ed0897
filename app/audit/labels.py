"""Chinese names of audited actions and the kinds of record they touch."""

from app.reference import AUDIT_ACTIONS, AUDIT_ENTITIES

FIELDS = {"action": "操作", "entity_type": "对象", "actor_name": "操作人", "at": "时间"}
VALUES = {"action": AUDIT_ACTIONS, "entity_type": AUDIT_ENTITIES}
