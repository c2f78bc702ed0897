"""Chinese labels of the 助企服务 domain (服务直通车, 专员, 走访, 一企一策), defined once."""

STATUS_NAMES = {
    "collected": "已收集",
    "assigned": "已交办",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已销号",
    "returned": "已退回",
}
CATEGORY_NAMES = {
    "labour": "用工",
    "energy": "用能",
    "project": "项目建设",
    "funding": "资金",
    "policy": "政策",
    "other": "其他",
}
CHANNEL_NAMES = {
    "visit": "走访收集",
    "phone": "电话反映",
    "platform": "市级平台转办",
    "walk_in": "来访",
    "other": "其他",
}
UNIT_KIND_NAMES = {"township": "乡镇（街道）", "department": "县直部门"}
ACTION_NAMES = {
    "collect": "收集",
    "assign": "交办",
    "start": "开始办理",
    "progress": "办理进展",
    "resolve": "办结",
    "close": "销号",
    "return": "退回",
    "reopen": "重新办理",
}
VISIT_KIND_NAMES = {"visit": "走访", "diagnosis": "专家诊断"}
# County departments that send 服务专员 or take problems (冠政办发〔2023〕7号 二（四）11, 责任单位).
DEPARTMENTS = (
    "县工业和信息化局",
    "县发展和改革局",
    "县科学技术局",
    "县财政局",
    "县人力资源和社会保障局",
    "县自然资源和规划局",
    "县住房和城乡建设局",
    "县商务局",
    "县市场监督管理局",
    "县行政审批服务局",
    "县地方金融监管局",
    "国网冠县供电公司",
)
# Audit vocabulary of this domain, for the history tab.
AUDIT_ACTIONS = {
    "collect": "收集诉求",
    "assign": "交办诉求",
    "start": "开始办理",
    "progress": "记录办理进展",
    "resolve": "办结诉求",
    "close": "销号",
    "return": "退回诉求",
    "reopen": "重新办理",
    "attach": "上传附件",
    "assign_officer": "指派服务专员",
    "list_voyage": "列入助企远航",
    "unlist_voyage": "移出助企远航",
    "task_done": "完成任务",
    "import": "导入",
    "spend": "资金支出",
}
AUDIT_ENTITIES = {
    "service_problem": "服务直通车诉求",
    "service_officer": "服务专员",
    "officer_assignment": "专员帮包",
    "voyage_listing": "助企远航",
    "service_visit": "走访",
    "improvement_plan": "一企一策",
    "plan_task": "一企一策任务",
}

# The tables the support pages use by name (registered with the templates once, by app.labels).
TEMPLATE_GLOBALS = {
    "PROBLEM_STATUS": STATUS_NAMES,
    "PROBLEM_CATEGORY": CATEGORY_NAMES,
    "PROBLEM_CHANNEL": CHANNEL_NAMES,
    "PROBLEM_ACTION": ACTION_NAMES,
    "VISIT_KIND": VISIT_KIND_NAMES,
    "DEPARTMENTS": DEPARTMENTS,
}
