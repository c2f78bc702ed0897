"""Chinese names of the accounts domain's codes: roles and permission scopes."""

ROLE_NAMES = {
    "county_admin": "县工信局管理员",
    "county_viewer": "县级查看",
    "township_staff": "乡镇工作人员",
    "department_staff": "县直部门工作人员",
}

SCOPE_NAMES = {
    "enterprises:read": "查看企业",
    "enterprises:write": "登记和修改企业",
    "pools:read": "查看培育库",
    "pools:write": "培育库入库出库",
    "targets:read": "查看目标进度",
    "targets:write": "制定目标表",
    "awards:read": "查看奖补",
    "awards:write": "记录奖补事件",
    "awards:approve": "审核和拨付奖补",
    "filings:read": "查看月度填报",
    "filings:write": "月度填报",
    "policies:read": "查看政策",
    "changes:read": "读取变更流",
    "platform:write": "平台注册回写",
    "webhooks:write": "管理 Webhook",
    "support:read": "查看助企服务",
    "support:write": "办理服务直通车诉求、登记走访",
}

FIELDS = {
    "role": "角色",
    "township": "乡镇（街道）",
    "username": "用户名",
    "scopes": "权限",
    "department": "部门",
    "display_name": "姓名",
}
VALUES = {"role": ROLE_NAMES, "scopes": SCOPE_NAMES}


def codes() -> dict[str, str]:
    return dict(SCOPE_NAMES)
