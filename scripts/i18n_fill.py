"""Create or update the zh_CN and en catalogs from messages.pot, filling known zh_CN translations.

Run after `uv run pybabel extract -F babel.cfg -o pwa/translations/messages.pot --no-location --sort-output .`
Existing translations in the .po files are kept; ZH below fills only empty ones.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "pwa" / "translations"

ZH = {
    "%(done)s of %(total)s done": "已完成 %(done)s/%(total)s",
    "%(field)s (CNY)": "%(field)s（元）",
    "%(n)s d in stage": "本阶段 %(n)s 天",
    "%(who)s (unassigned)": "%(who)s（未指定）",
    "(done)": "（已完成）",
    "Add customer": "新增客户",
    "Admin": "管理员",
    "Advance to the next step": "推进到下一步",
    "All": "全部",
    "Amount": "金额",
    "Amount (CNY)": "金额（元）",
    "Back to the pipeline": "返回商机列表",
    "Badge QR scanning at trade shows will appear here. Until then, add a lead by hand.": "展会胸卡扫码即将上线。在此之前，请手动录入线索。",
    "Call": "电话",
    "Cancelled": "已取消",
    "Choose file": "选择文件",
    "Collaborator": "协作人",
    "Colour key": "颜色说明",
    "Coming soon": "即将上线",
    "Coming soon: everything known is pre-filled": "即将上线：已知信息自动带出",
    "Coming soon: who you met, the outcome, the next step": "即将上线：见了谁、结果、下一步",
    "Commercial": "商务",
    "Company": "公司",
    "Contacts": "联系人",
    "Create opportunity": "新建商机",
    "Customer": "客户",
    "Customers": "客户",
    "Customers and pipeline": "客户与商机",
    "Delivery": "交付",
    "Details for this stage": "本阶段信息",
    "Direct manager": "直属经理",
    "Done": "已完成",
    "Due %(time)s": "截止 %(time)s",
    "Email": "邮箱",
    "Entry": "录入",
    "Everyone I can see": "全部负责人",
    "Everything required is there.": "必需的材料和信息都已齐全。",
    "Executor": "执行人",
    "File storage is not reachable right now. Please try again in a minute.": "文件存储暂时无法连接，请稍后重试。",
    "Filter": "筛选",
    "History": "跟进记录",
    "Internal note": "内部备注",
    "Job title": "职位",
    "Language": "语言",
    "Last contact": "最近联系",
    "Legal": "法务",
    "Log contact": "记录联系",
    "Log in": "登录",
    "Log out": "退出登录",
    "Log out?": "确定退出登录？",
    "Logged": "已记录",
    "Lost": "已输单",
    "Lost: %(reason)s": "输单原因：%(reason)s",
    "Main": "主导航",
    "Manager": "经理",
    "Mark as lost": "标记输单",
    "Materials": "材料清单",
    "Me": "我的",
    "Meeting": "会议",
    "Message": "消息",
    "Missing": "缺失",
    "Missing: %(what)s — to be provided by %(who)s": "缺少：%(what)s — 由 %(who)s 提供",
    "Mobile phone": "手机",
    "More": "更多",
    "Moved on": "已推进",
    "Name": "姓名",
    "Name, company or phone": "姓名、公司或电话",
    "Name, phone, company and contacts": "姓名、电话、公司和联系人",
    "New customer": "新客户",
    "New opportunity": "新建商机",
    "Next step: %(step)s": "下一步：%(step)s",
    "No activity yet.": "暂无跟进记录。",
    "No customers found": "没有找到客户",
    "No opportunities here": "这里还没有商机",
    "No opportunities yet.": "暂无商机。",
    "Not done: %(what)s (log a customer contact) — by %(who)s": "未完成：%(what)s（需记录一次客户联系） — 由 %(who)s 完成",
    "Not done: %(what)s (write a note) — by %(who)s": "未完成：%(what)s（需写一条跟进备注） — 由 %(who)s 完成",
    "Not done: %(what)s — by %(who)s": "未完成：%(what)s — 由 %(who)s 完成",
    "Not filled in: %(what)s — to be filled in by %(who)s": "未填写：%(what)s — 由 %(who)s 填写",
    "Not found, or you may not see it.": "未找到，或您没有查看权限。",
    "Not started": "未开始",
    "Not yet: something required is still missing (see the list).": "暂时不能推进：还有必需的事项未完成（见上方清单）。",
    "Note (optional)": "备注（可选）",
    "Nothing matches “%(q)s”.": "没有与“%(q)s”匹配的结果。",
    "Offline": "离线",
    "Open a customer and create an opportunity there.": "打开一位客户，在客户页面新建商机。",
    "Opportunities": "商机",
    "Opportunity name": "商机名称",
    "Other files": "其他附件",
    "Overdue": "已逾期",
    "Owner": "负责人",
    "Password": "密码",
    "Phone": "电话",
    "Pipeline": "商机",
    "Presales": "售前",
    "Present": "已上传",
    "Repeat order": "老客户复购",
    "Required to advance": "推进必需",
    "Rules instead of nagging.": "用规则代替催促。",
    "Sales rep": "销售代表",
    "Salesgate": "销售守门员",
    "Save": "保存",
    "Saved": "已保存",
    "Scan": "扫码",
    "Search": "搜索",
    "Search customers": "搜索客户",
    "Second-level manager": "上级经理",
    "Service": "客服",
    "Since": "进入时间",
    "Skip to content": "跳到正文",
    "Someone else changed this just now. Please reload the page.": "其他人刚刚修改了这条记录，请刷新页面后重试。",
    "Something went wrong. Please try again.": "出错了，请重试。",
    "Stage": "阶段",
    "Stages": "阶段",
    "Steps of %(stage)s": "%(stage)s的子步骤",
    "Still needed before you can advance:": "推进前还需要：",
    "Supervisor": "监督人",
    "Take photo": "拍照",
    "The file is empty.": "文件是空的。",
    "The file is too large. The limit is {max} MB.": "文件太大，上限为 {max} MB。",
    "This file's real type is not accepted here. Allowed: {allowed}.": "文件的实际类型不符合要求，此处只接受 {allowed}。",
    "This page has not been saved on this phone yet. Pages you opened before still work; new entries wait until you are back online.": "此页面尚未保存在手机上。之前打开过的页面仍可查看；新录入的内容会在恢复网络后提交。",
    "This step cannot be taken now. Please reload the page.": "现在不能执行这一步，请刷新页面。",
    "To do": "待完成",
    "Try again": "重试",
    "Uploaded": "已上传",
    "Uploading…": "正在上传…",
    "Username": "用户名",
    "Visit": "拜访",
    "Visit log": "拜访记录",
    "What happened": "发生了什么",
    "Who does what": "三色责任图",
    "Why was it lost?": "输单原因",
    "Won": "已赢单",
    "Workbench": "工作台",
    "You are offline": "当前离线",
    "You are offline. Please try again when you have a connection.": "当前离线，请在网络恢复后重试。",
    "Your daily list of customers who have gone silent will appear here.": "每日静默客户清单将显示在这里。",
    "e.g. Line 3 servo upgrade": "例如：三号产线伺服升级",
    "never": "从未",
    "no longer in storage": "文件已不在存储中",
}


def update(locale: str, fill: dict[str, str]) -> list[str]:
    with (ROOT / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    po_path = ROOT / locale / "LC_MESSAGES" / "messages.po"
    old: Catalog | None = None
    if po_path.exists():
        with po_path.open("rb") as fh:
            old = read_po(fh, locale=locale)
    catalog = Catalog(locale=locale, project="Salesgate", fuzzy=False)
    missing = []
    for message in template:
        if not message.id:
            continue
        previous = old.get(message.id) if old else None
        text = (previous.string if previous and previous.string else None) or fill.get(message.id, "")
        if locale == "en":
            text = ""  # English is the source language: untranslated means the msgid itself
        elif not text:
            missing.append(message.id)
        catalog.add(message.id, text)
    po_path.parent.mkdir(parents=True, exist_ok=True)
    with po_path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=100)
    return missing


if __name__ == "__main__":
    for loc, table in (("zh_CN", ZH), ("en", {})):
        gaps = update(loc, table)
        print(loc, "missing:", gaps or "none")
