"""Chinese labels of the registers (培训, 数字化测评, 项目), defined once."""

COURSE_NAMES = {
    "digital_officer": "数字专员培训",
    "modern_manager": "现代管理人员培训",
    "entrepreneur": "企业家培训",
}
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
PROJECT_KIND_NAMES = {"tech_upgrade": "技改项目", "key_chain": "强链延链补链重点项目"}
STAGE_NAMES = {"planned": "谋划储备", "under_construction": "在建", "completed": "已竣工"}
REGISTER_NAMES = {"training": "培训登记", "assessments": "数字化测评", "projects": "项目库"}
AUDIT_ENTITIES = {
    "training_record": "培训登记",
    "digital_assessment": "数字化测评",
    "enterprise_project": "项目",
}
# The tables the register pages use by name (registered with the templates once, by app.labels).
TEMPLATE_GLOBALS = {
    "COURSE_NAMES": COURSE_NAMES,
    "ASSESSMENT_LEVELS": LEVEL_NAMES,
    "PROJECT_KINDS": PROJECT_KIND_NAMES,
    "PROJECT_STAGES": STAGE_NAMES,
    "REGISTER_NAMES": REGISTER_NAMES,
}
