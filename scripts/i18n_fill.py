"""Create or update the zh_CN and en catalogs from messages.pot, filling known zh_CN translations.

Run after `uv run pybabel extract -F babel.cfg -o pwa/translations/messages.pot --no-location --sort-output .`
Existing translations in the .po files are kept; ZH below fills only empty ones.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "pwa" / "translations"

ZH = {
    "Add customer": "新增客户",
    "Admin": "管理员",
    "Badge QR scanning at trade shows will appear here. Until then, add a lead by hand.": "展会胸卡扫码即将上线。在此之前，请手动录入线索。",
    "Call": "电话",
    "Coming soon": "即将上线",
    "Coming soon: everything known is pre-filled": "即将上线：已知信息自动带出",
    "Coming soon: who you met, the outcome, the next step": "即将上线：见了谁、结果、下一步",
    "Commercial": "商务",
    "Company": "公司",
    "Contacts": "联系人",
    "Customers": "客户",
    "Delivery": "交付",
    "Email": "邮箱",
    "Entry": "录入",
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
    "Main": "主导航",
    "Manager": "经理",
    "Me": "我的",
    "Meeting": "会议",
    "Message": "消息",
    "Mobile phone": "手机",
    "More": "更多",
    "Name": "姓名",
    "Name, company or phone": "姓名、公司或电话",
    "Name, phone, company and contacts": "姓名、电话、公司和联系人",
    "New customer": "新客户",
    "No activity yet.": "暂无跟进记录。",
    "No customers found": "没有找到客户",
    "Note (optional)": "备注（可选）",
    "Nothing matches “%(q)s”.": "没有与“%(q)s”匹配的结果。",
    "Offline": "离线",
    "Owner": "负责人",
    "Password": "密码",
    "Phone": "电话",
    "Presales": "售前",
    "Repeat order": "老客户复购",
    "Rules instead of nagging.": "用规则代替催促。",
    "Sales rep": "销售代表",
    "Salesgate": "销售守门员",
    "Save": "保存",
    "Saved": "已保存",
    "Scan": "扫码",
    "Search": "搜索",
    "Search customers": "搜索客户",
    "Service": "客服",
    "Skip to content": "跳到正文",
    "Something went wrong. Please try again.": "出错了，请重试。",
    "This page has not been saved on this phone yet. Pages you opened before still work; new entries wait until you are back online.": "此页面尚未保存在手机上。之前打开过的页面仍可查看；新录入的内容会在恢复网络后提交。",
    "Try again": "重试",
    "Username": "用户名",
    "Visit": "拜访",
    "Visit log": "拜访记录",
    "What happened": "发生了什么",
    "Workbench": "工作台",
    "You are offline": "当前离线",
    "You are offline. Please try again when you have a connection.": "当前离线，请在网络恢复后重试。",
    "Your daily list of customers who have gone silent will appear here.": "每日静默客户清单将显示在这里。",
    "never": "从未",
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
