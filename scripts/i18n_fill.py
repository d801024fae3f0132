"""Create or update the zh_CN and en catalogs from messages.pot, filling known zh_CN translations.

Run after `uv run pybabel extract -F babel.cfg -o pwa/translations/messages.pot --no-location --sort-output .`
Existing translations in the .po files are kept; ZH below fills only empty ones.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "pwa" / "translations"

ZH = {
    # contributions and check-ins
    "Contributions": "协作贡献",
    "Contributions by stage and role": "各阶段、各角色的贡献次数",
    "Stage": "阶段",
    "Share of progress:": "推进贡献占比：",
    "Evidence": "截图证据",
    "No contributions yet. Presales, delivery, service, commercial and legal colleagues record their work here.":
        "暂无协作记录。售前、交付、服务、商务、法务同事在这里记录他们的工作。",
    "Record a contribution": "记录一次贡献",
    "What did you do?": "做了什么？",
    "Note": "说明",
    "Screenshot (optional)": "截图（可选）",
    "Save contribution": "保存贡献",
    "Contribution saved": "贡献已保存",
    "Daily check-in": "每日三件事",
    "Done today, to close tomorrow, support needed": "今日完成、明日必结、需要支持",
    "Three things for %(day)s": "%(day)s 三件事",
    "One item per line. You can change it until the day ends.": "每行一项，当天内可随时修改。",
    "Key actions done today": "今日完成的关键动作",
    "What must close tomorrow": "明日必须闭环的事项",
    "Support needed from colleagues": "需要同事支持",
    "Colleague": "同事",
    "Colleague…": "选择同事…",
    "What you need": "需要什么支持",
    "Screenshots (optional)": "截图（可选）",
    "%(n)s screenshot(s) attached": "已附 %(n)s 张截图",
    "Save check-in": "提交三件事",
    "Update check-in": "更新三件事",
    "My team today": "今日团队打卡",
    "Not checked in yet": "尚未提交",
    "Screenshot": "截图",
    "Check-in saved": "三件事已保存",
    "Support request from %(who)s": "%(who)s 请求支持",
    "Skipped": "已跳过",
    "Overdue %(n)s": "逾期 %(n)s",
    "Overdue: %(node)s": "逾期：%(node)s",
    "%(deal)s — was due %(due)s.": "%(deal)s — 应于 %(due)s 完成。",
    "Escalated: %(node)s": "升级提醒：%(node)s",
    "%(deal)s — still not done; it was due %(due)s.": "%(deal)s — 仍未完成，应于 %(due)s 完成。",
    "Advance blocked: %(deal)s": "推进被拦截：%(deal)s",
    "%(who)s tried to advance it; %(count)s required item(s) are missing: %(items)s.":
        "%(who)s 尝试推进，缺少 %(count)s 项必需材料：%(items)s。",
    "Salesgate test notification": "Salesgate 测试通知",
    "Notifications reach this device.": "通知可以送达这台设备。",
    "Open": "打开",
    "Salesgate: %(count)s alerts": "Salesgate：%(count)s 条提醒",
    "… and %(count)s more in the Salesgate inbox.": "……另有 %(count)s 条，请在 Salesgate 消息中查看。",
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

# The trade-show scanner (/scan) and the offline outbox (/outbox, the badge in the top bar).
ZH.update({
    "A product is no longer in the catalogue. Untick it and save again.": "有产品已不在产品目录中，请取消勾选后重新保存。",
    "Already scanned: {name}": "已扫描过：{name}",
    "Badge without a name": "无姓名的胸卡",
    "Camera": "相机",
    "Camera access was denied, so badges cannot be scanned. Allow the camera for this site in the browser settings, or enter the visitor's details by hand below.":
        "相机权限被拒绝，无法扫描胸卡。请在浏览器设置中允许本网站使用相机，或在下方手动录入访客信息。",
    "Cold": "低",
    "Contact log": "联系记录",
    "Delete": "删除",
    "Delete this entry? It will not be sent.": "删除这条记录？删除后将不会发送。",
    "Discard": "放弃",
    "Edit": "修改",
    "Enter by hand": "手动录入",
    "Entry without a name": "无名称的记录",
    "Event": "展会",
    "Fix this entry and save it again.": "请修改后重新保存。",
    "Hot": "高",
    "Interest": "意向程度",
    "Leads you save appear here. The camera keeps scanning for the next visitor.": "保存的线索显示在这里。保存后相机会继续扫描下一位访客。",
    "Needs fixing": "需修改",
    "No camera was found on this device. Enter the visitor's details by hand below.": "此设备上没有找到相机。请在下方手动录入访客信息。",
    "No connection: the badge text is saved as it is and read by the server when it is sent.":
        "当前无网络：胸卡内容按原文保存，发送时由服务器识别。",
    "Not saved: {name}. See the list of entries that need fixing.": "未保存：{name}。请查看需修改的记录。",
    "Nothing is waiting: everything saved on this phone has been sent.": "没有待发送的记录：本机保存的内容都已发送。",
    "Point the camera at the badge's QR code": "将相机对准胸卡上的二维码",
    "Products of interest": "意向产品",
    "Reading the badge…": "正在识别胸卡…",
    "Save lead": "保存线索",
    "Save or discard this lead to scan the next one": "保存或放弃当前线索后，继续扫描下一位",
    "Saved on this phone. It will be sent when you are back online.": "已保存在本机，恢复网络后自动发送。",
    "Saved on this phone: {name}. It will be sent when you are back online.": "已保存在本机：{name}，恢复网络后自动发送。",
    "Saved, merged with an existing customer": "已保存，并入现有客户",
    "Saved on this phone by another account. It is sent when that account logs in here again.":
        "由本机上的另一个账号保存，该账号在此重新登录后发送。",
    "Saved: {name}": "已保存：{name}",
    "Scanned lead": "扫码线索",
    "Send now": "立即发送",
    "Sending…": "发送中…",
    "Sent: {n}": "已发送 {n} 条",
    "Some entries have waited on this phone for more than 24 hours. Open the app where there is a connection so they can be sent, and check them below.":
        "有记录在本机等待已超过 24 小时。请在有网络的地方打开应用以便发送，并检查下方列表。",
    "Starting the camera…": "正在启动相机…",
    "Still no connection. The entries stay on this phone and are sent automatically.": "仍然没有网络。记录保留在本机，恢复网络后自动发送。",
    "The QR reader could not start on this phone. Enter the details by hand below.": "二维码识别无法在此手机上启动。请在下方手动录入。",
    "The camera could not be started. Enter the details by hand below.": "无法启动相机。请在下方手动录入。",
    "The camera is being used by another app. Close it and try again, or enter the details by hand below.":
        "相机正被其他应用占用。请关闭该应用后重试，或在下方手动录入。",
    "The camera only works over a secure (https) connection. Enter the details by hand below.":
        "相机只能在安全连接（https）下使用。请在下方手动录入。",
    "The server did not accept these entries. Correct them, or delete them.": "服务器未接受这些记录。请修改或删除。",
    "This QR code is not a badge we can read (vCard, MECARD or labelled text).": "这个二维码不是可识别的胸卡（vCard、MECARD 或带标签的文本）。",
    "This QR code is not a badge we can read (vCard, MECARD or labelled text). Enter the details by hand.":
        "这个二维码不是可识别的胸卡（vCard、MECARD 或带标签的文本）。请手动录入。",
    "This entry was changed after it was first sent. Save it again.": "这条记录在首次发送后被修改过，请重新保存。",
    "This session": "本次扫描",
    "Torch": "手电筒",
    "Trade show name, kept on this phone": "展会名称（本机会记住）",
    "Try the camera again": "重新打开相机",
    "Visitor's details": "访客信息",
    "Waiting to be sent": "等待发送",
    "Waiting to be sent: {n}": "待发送：{n} 条",
    "Waiting to send": "待发送",
    "Warm": "中",
    "Your session has ended. Log in again to send these entries.": "登录已过期，请重新登录以发送这些记录。",
    "need fixing: {n}": "需修改：{n} 条",
    "saved on this phone {time}": "{time} 保存在本机",
    "some have waited more than 24 hours": "部分已等待超过 24 小时",
})


# The inbox (/inbox, the bell in the top bar) and notifications on the Me page.
ZH.update({
    "Inbox": "消息",
    "Inbox, {n} unread": "消息，{n} 条未读",
    "{n} unread": "{n} 条未读",
    "No unread messages": "没有未读消息",
    "Unread": "未读",
    "Resolved": "已处理",
    "Mark all as read": "全部标为已读",
    "Load more": "加载更多",
    "No messages yet": "暂无消息",
    "Alerts about late steps, blocked advances and escalations appear here, whether or not a notification reached this phone.":
        "步骤逾期、推进被拦截和升级提醒都会显示在这里，无论手机是否收到了通知。",
    "Notifications on this device": "本机通知",
    "Checking…": "正在检查…",
    "On: this device receives notifications.": "已开启：这台设备会收到通知。",
    "Off: this device does not receive notifications.": "未开启：这台设备不会收到通知。",
    "Blocked by the browser. To allow them, open this site's settings in the browser (the icon next to the address) and allow notifications, then come back here.":
        "已被浏览器阻止。如需开启，请在浏览器的网站设置中（地址栏旁的图标）允许通知，然后回到这里。",
    "Not supported: this browser cannot receive notifications. The inbox still shows every alert.":
        "不支持：此浏览器无法接收通知。所有提醒仍会显示在消息中。",
    "Off: Safari delivers notifications only to apps added to the Home Screen.": "未开启：Safari 只向已添加到主屏幕的应用推送通知。",
    "On iPhone and iPad, notifications arrive only when Salesgate is on the Home Screen: tap Share (the square with an arrow), then “Add to Home Screen”, and open Salesgate from there.":
        "在 iPhone 和 iPad 上，只有把 Salesgate 添加到主屏幕后才能收到通知：点按“分享”（带箭头的方框）→“添加到主屏幕”，然后从主屏幕打开 Salesgate。",
    "Salesgate notifies you when a step is late, an advance is blocked or an alert is escalated, even when the app is closed. Your browser will now ask whether to allow this.":
        "当步骤逾期、推进被拦截或提醒升级时，即使应用已关闭，Salesgate 也会通知你。接下来浏览器会询问是否允许。",
    "Continue": "继续",
    "Not now": "暂不",
    "Turn on notifications": "开启通知",
    "Turn off": "关闭通知",
    "Send a test notification": "发送测试通知",
    "Notifications were not turned on: the browser's question was closed without an answer. Tap the button to try again.":
        "通知未开启：浏览器的询问被关闭了，没有作出选择。请点按按钮重试。",
    "Could not turn on notifications: the browser's push service did not answer. Check the connection and try again.":
        "无法开启通知：浏览器的推送服务没有响应。请检查网络后重试。",
    "This browser's push service is not allowed by the server's settings. Ask your administrator.":
        "服务器设置不允许此浏览器的推送服务，请联系管理员。",
    "Notifications are on for this device.": "已为这台设备开启通知。",
    "Notifications are off for this device.": "已为这台设备关闭通知。",
    "Test notification sent to {n} device(s). It should arrive within a minute.": "测试通知已发送到 {n} 台设备，一分钟内应能收到。",
    "No device has notifications turned on yet. The test message is in your inbox.": "还没有设备开启通知。测试消息已放入消息列表。",
    "Your devices": "我的设备",
    "No device receives notifications yet.": "还没有设备接收通知。",
    "Unknown device": "未知设备",
    "added {date}": "{date} 添加",
    "last notification {date}": "最近通知 {date}",
})

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
