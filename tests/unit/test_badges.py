"""The badge-parsing corpus: every payload with its full expected lead, written out by hand;
then what a scan makes of a lead (server.domain.leads)."""

from datetime import datetime, timezone

import pytest

from server.domain.badges import Lead, PayloadUnrecognised, parse_badge
from server.domain.leads import (
    Candidate,
    UnknownProducts,
    check_products,
    choose_match,
    customer_name,
    fields_to_fill,
    identity_keys,
    scan_note,
)


def lead(fmt, name=None, phone=None, company=None, title=None, email=None):
    return Lead(name=name, phone=phone, company=company, title=title, email=email, format=fmt)


CORPUS = [
    # ---- vCard 3.0
    pytest.param(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:张;伟;;;\r\nFN:张伟\r\nORG:杭州智链科技有限公司;销售部\r\nTITLE:采购经理\r\n"
        "TEL;TYPE=WORK,VOICE:0571-88886666\r\nTEL;TYPE=CELL:138 1234 5678\r\n"
        "EMAIL;TYPE=INTERNET:Wei.Zhang@Example.com\r\nEND:VCARD\r\n",
        lead("vcard", "张伟", "+8613812345678", "杭州智链科技有限公司", "采购经理", "wei.zhang@example.com"),
        id="v30-zh-full-crlf-cell-wins-org-unit-dropped"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nN:Smith;John;;Mr.;\nTEL;TYPE=work:+1 650 253 0000\nTEL;TYPE=cell:+1 415 555 2671\n"
        "END:VCARD",
        lead("vcard", "John Smith", "+14155552671"),
        id="v30-en-no-fn-name-from-n-lowercase-cell"),
    pytest.param(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alexandra Catherine\r\n  Montgomery-Smith\r\n"
        "EMAIL;TYPE=INTERNET:alex.ms@\r\n example.co.uk\r\nORG:Northwind Traders Ltd\r\nEND:VCARD",
        lead("vcard", "Alexandra Catherine Montgomery-Smith", None, "Northwind Traders Ltd", None,
             "alex.ms@example.co.uk"),
        id="v30-folded-lines-crlf-space"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Tom Baker\nitem1.TEL;type=CELL;type=pref:+44 7911 123456\n"
        "item1.X-ABLabel:mobile\nitem2.EMAIL;type=INTERNET:Tom@Example.co.uk\nitem2.X-ABLabel:_$!<Work>!$_\nEND:VCARD",
        lead("vcard", "Tom Baker", "+447911123456", None, None, "tom@example.co.uk"),
        id="v30-property-groups-item1"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Grace Chen\nORG:Acme\\, Inc.;R&D\nTITLE:VP\\, Sales\\nAsia\n"
        "EMAIL:grace@acme.com\nEND:VCARD",
        lead("vcard", "Grace Chen", None, "Acme, Inc.", "VP, Sales Asia", "grace@acme.com"),
        id="v30-escaped-comma-and-newline"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN;CHARSET=UTF-8:李娜\nTEL;TYPE=FAX:+86 21 6234 5679\nTEL;TYPE=HOME:+86 21 6234 5678\n"
        "END:VCARD",
        lead("vcard", "李娜", "+862162345678"),
        id="v30-charset-param-fax-loses"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:赵磊\nTEL;TYPE=WORK:010-12345678\nTEL;TYPE=WORK,PREF:021-62345678\nEND:VCARD",
        lead("vcard", "赵磊", "+862162345678"),
        id="v30-pref-wins-without-cell"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:孙丽\nEMAIL:sunli@x.cn\nEMAIL;TYPE=INTERNET,PREF:SunLi@Work.CN\nEND:VCARD",
        lead("vcard", "孙丽", None, None, None, "sunli@work.cn"),
        id="v30-preferred-email"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Peter Jones\nEMAIL:not-an-email\nEMAIL:Peter@Jones.net\nEND:VCARD",
        lead("vcard", "Peter Jones", None, None, None, "peter@jones.net"),
        id="v30-invalid-email-skipped"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN: \nN:欧阳;娜娜;;;\nTEL:13912345678\nEND:VCARD",
        lead("vcard", "欧阳娜娜", "+8613912345678"),
        id="v30-empty-fn-chinese-n-no-space"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:张 伟\nTEL;TYPE=CELL:+86-138-1234-5678\nEND:VCARD",
        lead("vcard", "张伟", "+8613812345678"),
        id="v30-space-inside-chinese-name-removed"),
    pytest.param(
        "Scan to save my card\nBEGIN:VCARD\nVERSION:3.0\nFN:周杰\nTEL;TYPE=CELL:0086 186 0000 1234\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Someone Else\nEND:VCARD",
        lead("vcard", "周杰", "+8618600001234"),
        id="v30-text-before-and-second-card-ignored"),
    # ---- vCard 2.1
    pytest.param(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F;;;\r\n"
        "TEL;CELL:13812345678\r\nEND:VCARD",
        lead("vcard", "张伟", "+8613812345678"),
        id="v21-qp-n-only"),
    pytest.param(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E=E5=A8=9C\r\n"
        "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=AD=E5=B7=9E=E6=99=BA=E9=93=BE=E7=A7=91=E6=8A=80=E6=9C=89=E9=99=90=E5=\r\n"
        "=85=AC=E5=8F=B8\r\n"
        "TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=87=87=E8=B4=AD=E7=BB=8F=E7=90=86\r\n"
        "TEL;WORK;VOICE:0571-88886666\r\nEND:VCARD",
        lead("vcard", "李娜", "+8657188886666", "杭州智链科技有限公司", "采购经理"),
        id="v21-qp-soft-line-break-inside-a-character"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN:王强\nTEL;WORK;VOICE:0571-88886666\nTEL;CELL;VOICE:139-1234-5678\nEND:VCARD",
        lead("vcard", "王强", "+8613912345678"),
        id="v21-bare-cell-type"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN;QUOTED-PRINTABLE:Jos=C3=A9 Garc=C3=ADa\nEMAIL;INTERNET:jose@garcia.es\nEND:VCARD",
        lead("vcard", "José García", None, None, None, "jose@garcia.es"),
        id="v21-bare-qp-default-utf8"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=GB2312;ENCODING=QUOTED-PRINTABLE:=D5=C5=CE=B0\nTEL;CELL:+8613812345678\n"
        "END:VCARD",
        lead("vcard", "张伟", "+8613812345678"),
        id="v21-qp-gb2312"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN:Li\n Na\nORG:Shenzhen Medical\n Devices Co.\nTEL;CELL:13987654321\nEND:VCARD",
        lead("vcard", "Li Na", "+8613987654321", "Shenzhen Medical Devices Co."),
        id="v21-folding-keeps-the-space"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN:钱明\nPHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\n"
        "TEL;CELL:13600001111\nEND:VCARD",
        lead("vcard", "钱明", "+8613600001111"),
        id="v21-base64-photo-ignored"),
    # ---- vCard 4.0
    pytest.param(
        'BEGIN:VCARD\nVERSION:4.0\nFN:John Smith\nTEL;VALUE=uri;TYPE="voice,home":tel:+1-415-555-2671\n'
        'TEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+86-139-1234-5678\nEND:VCARD',
        lead("vcard", "John Smith", "+8613912345678"),
        id="v40-tel-uri-quoted-cell-voice"),
    pytest.param(
        "begin:vcard\nversion:4.0\nfn:王芳\ntel;type=work:+86 21 6888 8888\nemail;pref=1:WF@sh.cn\nemail:other@sh.cn\n"
        "end:vcard",
        lead("vcard", "王芳", "+862168888888", None, None, "wf@sh.cn"),
        id="v40-lowercase-properties-pref-email"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:4.0\nN:Müller;Anna;;;\nEMAIL;TYPE=work:anna.mueller@firma.de\nEND:VCARD",
        lead("vcard", "Anna Müller", None, None, None, "anna.mueller@firma.de"),
        id="v40-latin-n-given-family"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:4.0\nFN:陈静\nTEL;VALUE=uri;TYPE=work:tel:+86-21-6888-8888;ext=102\nEND:VCARD",
        lead("vcard", "陈静", "+862168888888"),
        id="v40-tel-uri-with-extension"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:4.0\nFN:刘洋\nORG:华为技术有限公司;企业业务部;华东区\nTITLE:客户经理\nTEL;TYPE=cell:18600001234\n"
        "END:VCARD",
        lead("vcard", "刘洋", "+8618600001234", "华为技术有限公司", "客户经理"),
        id="v40-org-units-dropped"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:4.0\nFN:Maria Gonz\n\talez\nEMAIL:maria@ejemplo.mx\nEND:VCARD",
        lead("vcard", "Maria Gonzalez", None, None, None, "maria@ejemplo.mx"),
        id="v40-folded-with-tab"),
    # ---- vCard, malformed
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:张伟\nTEL;TYPE=CELL:138",
        lead("vcard", "张伟"),
        id="vcard-truncated-phone-left-out"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Ann Lee\nEMAIL:ann@",
        lead("vcard", "Ann Lee"),
        id="vcard-truncated-email-left-out"),
    pytest.param("BEGIN:VCARD\nVERSION:3.0\nFN", "no_contact", id="vcard-truncated-to-nothing"),
    pytest.param("BEGIN:VCARD\nVERSION:3.0\nORG:Acme\nEND:VCARD", "no_contact", id="vcard-company-only"),
    pytest.param("BEGIN:VCARD\nVERSION:3.0\nTEL:12345\nEND:VCARD", "no_contact", id="vcard-invalid-phone-only"),
    pytest.param(
        "BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=FF=FE\nEND:VCARD",
        "bad_encoding", id="v21-qp-not-utf8"),
    # ---- MECARD
    pytest.param(
        "MECARD:N:张伟;TEL:13812345678;EMAIL:ZhangWei@Zhilian.cn;ORG:杭州智链科技;TITLE:采购经理;;",
        lead("mecard", "张伟", "+8613812345678", "杭州智链科技", "采购经理", "zhangwei@zhilian.cn"),
        id="mecard-zh-full"),
    pytest.param(
        "MECARD:N:Smith,John;TEL:+14155552671;EMAIL:JOHN.SMITH@EXAMPLE.COM;;",
        lead("mecard", "John Smith", "+14155552671", None, None, "john.smith@example.com"),
        id="mecard-family-comma-given-latin"),
    pytest.param(
        "MECARD:N:欧阳,娜娜;TEL:021-62345678;TEL:13912345678;;",
        lead("mecard", "欧阳娜娜", "+8613912345678"),
        id="mecard-family-comma-given-zh-mobile-preferred"),
    pytest.param(
        r"MECARD:N:Chen\, Grace;ORG:A\;B Ltd;TITLE:Head\: R\\D;EMAIL:grace@ab.hk;;",
        lead("mecard", "Chen, Grace", None, "A;B Ltd", "Head: R\\D", "grace@ab.hk"),
        id="mecard-escapes"),
    pytest.param(
        "mecard:N:李娜;TEL:+86 139 8765 4321",
        lead("mecard", "李娜", "+8613987654321"),
        id="mecard-lowercase-no-terminator"),
    pytest.param(
        r"MECARD:N:Tanaka,Hiro;SOUND:tanaka,hiro;URL:http\://x.jp;NOTE:booth 3;EMAIL:hiro@x.jp;;",
        lead("mecard", "Hiro Tanaka", None, None, None, "hiro@x.jp"),
        id="mecard-unused-fields-ignored"),
    pytest.param("MECARD:;;", "no_contact", id="mecard-empty"),
    # ---- labelled text
    pytest.param(
        "姓名：张伟\n手机：138 1234 5678\n公司：杭州智链科技有限公司\n职位：采购经理\n邮箱：Zhang.Wei@Zhilian.CN",
        lead("text", "张伟", "+8613812345678", "杭州智链科技有限公司", "采购经理", "zhang.wei@zhilian.cn"),
        id="text-zh-newlines-fullwidth-colon"),
    pytest.param(
        "Name: John Smith | Mobile: +1 415 555 2671 | Company: Acme Inc. | Title: CTO | E-mail: John@Acme.com",
        lead("text", "John Smith", "+14155552671", "Acme Inc.", "CTO", "john@acme.com"),
        id="text-en-pipes"),
    pytest.param(
        "Name:Li Na;Tel:021-62345678;Email:lina@sh.cn",
        lead("text", "Li Na", "+862162345678", None, None, "lina@sh.cn"),
        id="text-en-semicolons"),
    pytest.param(
        "名字：王芳；电话：010-12345678；单位：北京某某研究院；职位：工程师",
        lead("text", "王芳", "+861012345678", "北京某某研究院", "工程师"),
        id="text-zh-fullwidth-semicolons"),
    pytest.param(
        "NAME: Anna Müller\nPHONE: +49 30 12345678\nE-MAIL: Anna@Firma.DE\nTITLE: Einkauf",
        lead("text", "Anna Müller", "+493012345678", None, "Einkauf", "anna@firma.de"),
        id="text-labels-any-case"),
    pytest.param(
        "Tel: 010-12345678\nMobile: 13912345678\nName: Zhao Lei",
        lead("text", "Zhao Lei", "+8613912345678"),
        id="text-mobile-label-beats-tel"),
    pytest.param(
        "  姓名 : 刘洋 \r\n 手机 : +86 186 0000 1234 \r\n",
        lead("text", "刘洋", "+8618600001234"),
        id="text-crlf-spaces-ascii-colon"),
    pytest.param(
        "姓名：周杰\n电话：0755-86013388转8001",
        lead("text", "周杰", "+8675586013388"),
        id="text-extension-zhuan"),
    pytest.param(
        "姓名：吴敏｜手机：１３８１２３４５６７８",
        lead("text", "吴敏", "+8613812345678"),
        id="text-fullwidth-pipe-and-digits"),
    pytest.param("Email: visitor@example.org", lead("text", email="visitor@example.org"), id="text-email-only"),
    pytest.param("姓名：张三", lead("text", "张三"), id="text-name-only"),
    pytest.param("Name: " + "a" * 4090, lead("text", "a" * 200), id="text-exactly-4096-bytes-name-cut"),
    pytest.param("Welcome to CIIF 2026! Booth A-123", "no_contact", id="text-unlabelled"),
    pytest.param("https://expo.example.com/badge/8F3K2", "no_contact", id="text-url"),
    pytest.param("Company: Acme | Title: CTO", "no_contact", id="text-no-person"),
    pytest.param("Tel: 12345", "no_contact", id="text-invalid-phone-only"),
    # ---- junk
    pytest.param("", "empty", id="empty"),
    pytest.param("  \n\t \r\n", "empty", id="whitespace-only"),
    pytest.param("\ufeff\u200b", "empty", id="bom-and-zero-width-only"),
    pytest.param("姓名：张伟\x00手机：13812345678", "binary", id="nul-byte"),
    pytest.param("\ufffd\ufffdPNG\r\n", "binary", id="replacement-characters"),
    pytest.param("\x1b[31mName: x", "binary", id="control-characters"),
    pytest.param("姓名：张伟\ud800", "binary", id="lone-surrogate"),
    pytest.param("Name: " + "a" * 4091, "too_large", id="oversized-4097-bytes"),
    pytest.param("姓名：" + "张" * 1400, "too_large", id="oversized-by-bytes-not-characters"),
]


@pytest.mark.parametrize("payload, expected", CORPUS)
def test_badge_corpus(payload, expected):
    if isinstance(expected, Lead):
        assert parse_badge(payload) == expected
    else:
        with pytest.raises(PayloadUnrecognised) as info:
            parse_badge(payload)
        assert info.value.reason == expected
        sentence = str(info.value)
        assert sentence[0].isupper() and sentence.endswith(".")


def test_badge_corpus_is_large_and_covers_every_format():
    assert len(CORPUS) >= 40
    formats = [p.values[1].format for p in CORPUS if isinstance(p.values[1], Lead)]
    assert {f: formats.count(f) >= 6 for f in ("vcard", "mecard", "text")} == {"vcard": True, "mecard": True,
                                                                                "text": True}


def test_badge_refusals_say_what_is_wrong():
    with pytest.raises(PayloadUnrecognised, match="'12345'"):
        parse_badge("Tel: 12345")
    with pytest.raises(PayloadUnrecognised, match="4 KB"):
        parse_badge("x" * 5000)
    with pytest.raises(PayloadUnrecognised, match="empty"):
        parse_badge("")


# ---- what a scan makes of a lead (server.domain.leads)

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)


def test_products_are_checked_against_the_catalogue_kept_once_in_order():
    assert check_products([" plc", "agv", "plc"], ["agv", "plc"]) == ["plc", "agv"]
    assert check_products(None, ["agv"]) == []
    with pytest.raises(UnknownProducts, match=r"Unknown products 'x', 'y'; the catalogue has agv, plc\."):
        check_products(["x", "agv", "y"], ["agv", "plc"])


def test_a_visible_match_wins_over_an_older_hidden_one():
    hidden = Candidate(customer_id="b", visible=False, created_at=T0, on_customer_row=True)
    mine_new = Candidate(customer_id="a", visible=True, created_at=T1, on_customer_row=False)
    mine_old = Candidate(customer_id="c", visible=True, created_at=T0, on_customer_row=True)
    assert choose_match([]) is None
    assert choose_match([hidden]) == hidden
    assert choose_match([hidden, mine_new]) == mine_new
    assert choose_match([hidden, mine_new, mine_old]) == mine_old


def test_only_empty_fields_of_a_visible_customer_row_are_filled():
    full = Lead(name="张伟", phone="+8613812345678", company="智链", title="经理", email="a@b.cn", format="text")
    row = {"phone": None, "email": "old@b.cn", "company": "", "title": None}
    on_row = Candidate(customer_id="a", visible=True, created_at=T0, on_customer_row=True)
    assert fields_to_fill(row, full, on_row) == {"phone": "+8613812345678", "company": "智链", "title": "经理"}
    assert fields_to_fill(row, full, Candidate(customer_id="a", visible=True, created_at=T0,
                                               on_customer_row=False)) == {}
    assert fields_to_fill(row, full, Candidate(customer_id="a", visible=False, created_at=T0,
                                               on_customer_row=True)) == {}


def test_a_lead_without_a_name_is_called_by_what_is_known():
    assert customer_name(Lead(company="Acme", email="a@b.cn", format="text")) == "Acme"
    assert customer_name(Lead(phone="+8613812345678", format="text")) == "+8613812345678"
    assert customer_name(Lead(name="x" * 300, format="text")) == "x" * 200
    assert identity_keys(Lead(phone="+8613812345678", email="a@b.cn", format="text")) == [
        "email:a@b.cn", "phone:+8613812345678"]
    assert identity_keys(Lead(name="张伟", format="text")) == []


def test_scan_note_in_both_languages():
    assert scan_note(event=" CIIF ", products=["伺服驱动器", "AGV 小车"], temperature="warm", note=None,
                     locale="zh_CN") == "展会扫码：CIIF\n意向产品：伺服驱动器、AGV 小车\n意向程度：中"
    assert scan_note(event=None, products=["Servo drive"], temperature="cold", note=" call back ",
                     locale="en") == "Trade-show scan\nProducts of interest: Servo drive\nInterest: cold\nNote: call back"
