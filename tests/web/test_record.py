"""The record a practitioner reads in one minute, and exports that carry the decision (issue 15), on both backends.

Flags grouped by severity with their state, triggers in plain words (the raw condition one
click away), info items apart, the medicines as the lexicon understood them; export links
for staff only; the CSV, the JSON export and the API carry where the review stands, every
decision, flag review and plan edit; the FHIR Bundle's references resolve inside it.
"""

from __future__ import annotations

import csv
import io

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from intake.extensions import db
from intake.models import Intake
from tests.support.api import make_token
from tests.support.forms import FormClient
from tests.support.html import parse
from tests.support.review import acknowledge_all, decide, record_url, review_flag
from tests.support.staff import make_user, sign_in

REASON = "Cardiologist confirms apixaban can pause for 48 hours; agreed in writing."


def page(forms, intake_id: int):
    return parse(forms.client.get(record_url(intake_id)).get_data(as_text=True))


def flag_item(html, rule_id: str):
    item = html.select_one(f"#flag-{rule_id}")
    assert item is not None, f"no flag {rule_id} on the record"
    return item


# --- flags in words ---------------------------------------------------------------------------------


def test_flags_are_grouped_most_severe_first_each_with_its_state(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    html = page(signed_in, intake_id)
    groups = [h.get_text(strip=True) for h in html.select("h3.flag-group")]
    assert groups == ["Contraindicated", "Precaution"]
    assert flag_item(html, "anticoagulant").select_one(".badge--open") is not None
    review_flag(signed_in, app, intake_id, "ssri-snri")
    review_flag(signed_in, app, intake_id, "anticoagulant", "override", REASON)
    html = page(signed_in, intake_id)
    assert flag_item(html, "ssri-snri").select_one(".badge--acknowledged").get_text(strip=True) == "Acknowledged"
    overridden = flag_item(html, "anticoagulant")
    assert overridden.select_one(".badge--overridden").get_text(strip=True) == "Overridden"
    assert REASON in overridden.get_text()


def test_triggered_by_in_plain_words_with_the_raw_condition_one_click_away(signed_in, demo_intakes):
    item = flag_item(page(signed_in, demo_intakes["Margaret Doyle"]), "anticoagulant")
    said = [li.get_text(" ", strip=True) for li in item.select(".flag__facts dd > ul.summary-values > li")]
    assert any("Eliquis 5mg tablets → Direct oral anticoagulants (DOACs) (apixaban)" in line for line in said), said
    assert any("the rule looks for: includes any of:" in line for line in said), said
    raw = item.select_one("details.raw-condition")
    assert raw is not None and "medications.taking" in raw.select_one("code").get_text()
    assert "medications.taking" not in " ".join(said)  # the machine syntax only behind the disclosure


def test_an_answer_and_its_threshold_in_words(signed_in, demo_intakes):
    item = flag_item(page(signed_in, demo_intakes["Jade Carter"]), "under-18")
    text = item.select_one(".flag__facts").get_text(" ", strip=True)
    assert "Age on the appointment: 17" in text and "less than 18" in text


def test_info_items_sit_in_their_own_short_list(signed_in, demo_intakes):
    html = page(signed_in, demo_intakes["Nina Petrova"])
    info = html.select("#info + details > ul.info-list > li")
    assert len(info) == 4
    assert html.select_one("#flag-unrecognised-medication") is None  # not among the flags to review


# --- what was understood ----------------------------------------------------------------------------


def understood(html) -> dict[str, list[str]]:
    rows = html.select("table.understood tbody tr")
    return {row.th.get_text(" ", strip=True): [td.get_text(" ", strip=True) for td in row.select("td")] for row in rows}


def test_medicines_as_understood_recognised_and_stopped(signed_in, demo_intakes):
    rows = understood(page(signed_in, demo_intakes["Grace Okafor"]))
    recognised, classes, status = rows["Roaccutane 20mg"]
    assert recognised == "isotretinoin" and classes.startswith("Oral retinoids") and "Stopped on" in status
    assert "2026" in status


def test_medicines_as_understood_without_a_rule_firing(signed_in, demo_intakes):
    rows = understood(page(signed_in, demo_intakes["Tom Becker"]))
    assert rows["Propecia 1mg"][0] == "finasteride"  # no rule fired on it, the record says what was read
    assert rows["Propecia 1mg"][2].startswith("Taking")


def test_medicines_not_recognised_say_so(signed_in, demo_intakes):
    rows = understood(page(signed_in, demo_intakes["Nina Petrova"]))
    assert rows["Zyrtec-D"][0].startswith("Not recognised") and rows["Zyrtec-D"][1] == "—"
    assert rows["Vitamin D3"][0].startswith("Not recognised")


def test_a_misspelt_medicine_is_recognised_and_the_record_says_from_what(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Tom Becker"]
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        medications = dict(intake.answers["medications"])
        medications["items"] = [*medications["items"], {"name": "Eliqus", "status": "taking", "prescribed": True}]
        intake.answers = {**intake.answers, "medications": medications}
        db.session.commit()
    rows = understood(page(signed_in, intake_id))
    assert rows["Eliqus"][0].startswith("apixaban") and "near spelling" in rows["Eliqus"][0]
    assert "prescribed" in rows["Eliqus"][2]


def test_free_text_allergies_are_shown_as_typed_with_what_the_allergen_lexicon_read(signed_in, demo_intakes):
    table = page(signed_in, demo_intakes["Daniel Kim"]).select_one("#allergies-understood + .table-wrap table")
    text = table.get_text(" ", strip=True)
    assert "Peanuts (anaphylaxis, carries an EpiPen) (free text)" in text and "Foods" in text


# --- export links -----------------------------------------------------------------------------------


def links(html) -> set[str]:
    return {a["href"].split("?")[0] for a in html.select("a[href]")}


def test_the_record_offers_print_json_and_fhir_to_practitioners(signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    found = links(page(signed_in, intake_id))
    assert {f"/staff/intakes/{intake_id}/print", f"/staff/intakes/{intake_id}/export.json",
            f"/staff/intakes/{intake_id}/fhir"} <= found


def test_the_queue_offers_csv_and_json_of_the_current_filter(app, client, demo_intakes):
    make_user(app)
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    for email in ("pat@demo.clinic", "ada@demo.clinic"):
        forms = FormClient(app.test_client())
        sign_in(forms, email=email)
        html = parse(forms.client.get("/staff/queue?status=awaiting_review&severity=contraindicated&q=doyle")
                     .get_data(as_text=True))
        hrefs = {a["href"] for a in html.select(".queue-exports a")}
        assert hrefs == {"/staff/intakes.csv?review_status=awaiting_review&outcome=contraindicated&q=doyle",
                         "/staff/intakes.json?review_status=awaiting_review&outcome=contraindicated&q=doyle"}
        rows = list(csv.DictReader(io.StringIO(forms.client.get(sorted(hrefs)[0]).get_data(as_text=True))))
        assert [row["full_name"] for row in rows] == ["Margaret Doyle"]


def test_no_export_link_outside_the_staff_pages(client, demo_intakes):
    for url in ("/", "/staff/sign-in"):
        html = client.get(url).get_data(as_text=True)
        assert "export.json" not in html and "intakes.csv" not in html and "/fhir" not in html
    assert client.get("/staff/intakes.json").status_code == 302  # sign in first


# --- exports that carry the decision ----------------------------------------------------------------


def approve_margaret(app, forms, intake_id: int) -> None:
    assert review_flag(forms, app, intake_id, "anticoagulant", "override", REASON).status_code == 302
    acknowledge_all(forms, app, intake_id)
    response = decide(forms, app, intake_id, "approved_with_precautions", note="Pause apixaban 48 h (cardiology).",
                      patient_message="See you on the day; pause apixaban as agreed with your cardiologist.")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def test_the_csv_says_where_each_review_stands(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    approve_margaret(app, signed_in, intake_id)
    rows = {int(row["id"]): row for row in csv.DictReader(io.StringIO(
        signed_in.client.get("/staff/intakes.csv").get_data(as_text=True)))}
    margaret = rows[intake_id]
    assert margaret["review_status"] == "approved_with_precautions"
    assert margaret["decision"] == "approved_with_precautions" and margaret["decided_by"] == "Pat Practitioner"
    assert margaret["decided_at"] and margaret["open_flags"] == "0"
    assert rows[demo_intakes["Grace Okafor"]]["open_flags"] == "1"
    assert rows[demo_intakes["Grace Okafor"]]["decision"] == ""


def test_the_json_export_carries_decisions_reviews_and_reasons(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    approve_margaret(app, signed_in, intake_id)
    body = signed_in.client.get(f"/staff/intakes/{intake_id}/export.json").json
    (decision,) = body["decisions"]
    assert decision["outcome"] == "approved_with_precautions" and decision["signed_by"]["name"] == "Pat Practitioner"
    assert decision["note"] == "Pause apixaban 48 h (cardiology)." and decision["signed_at"]
    reviews = {review["rule_id"]: review for review in body["flag_reviews"]}
    assert reviews["anticoagulant"]["action"] == "overridden" and reviews["anticoagulant"]["reason"] == REASON
    assert reviews["ssri-snri"]["action"] == "acknowledged"
    queue = signed_in.client.get("/staff/intakes.json?review_status=approved_with_precautions").json
    assert [document["intake"]["id"] for document in queue["intakes"]] == [intake_id]
    assert queue["intakes"][0]["decisions"][0]["id"] == decision["id"]


def test_the_api_carries_decisions_reviews_and_plan_edits(app, client, signed_in, admin, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    approve_margaret(app, signed_in, intake_id)
    _, secret = make_token(app, scope="read")
    body = client.get(f"/api/v1/intakes/{intake_id}", headers={"Authorization": f"Bearer {secret}"}).json
    assert body["review_status"] == "approved_with_precautions"
    assert body["decisions"][0]["outcome"] == "approved_with_precautions"
    assert {review["rule_id"] for review in body["flag_reviews"]} == {"anticoagulant", "ssri-snri"}
    assert body["plan_edits"] == []


def test_the_fhir_bundle_carries_the_decision_and_its_references_resolve(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    approve_margaret(app, signed_in, intake_id)
    raw = signed_in.client.get(f"/staff/intakes/{intake_id}/fhir").json
    bundle = Bundle.model_validate(raw)
    urls = {entry.fullUrl for entry in bundle.entry}

    def references(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference":
                    yield value
                else:
                    yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    found = list(references(raw))
    assert found and set(found) <= urls, set(found) - urls
    by_type = {}
    for entry in bundle.entry:
        by_type.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    (impression,) = by_type["ClinicalImpression"]
    assert impression.status == "completed" and "approved" in impression.summary.lower()
    (practitioner,) = by_type["Practitioner"]
    assert practitioner.name[0].text == "Pat Practitioner"
    issues = {issue.code.coding[0].code: issue for issue in by_type["DetectedIssue"]}
    assert issues["anticoagulant"].severity == "high"
    assert REASON in issues["anticoagulant"].mitigation[0].action.text
    (provenance,) = by_type["Provenance"]
    assert provenance.agent[0].who.reference in urls


def test_exports_are_audited(app, signed_in, demo_intakes):
    from intake.models import AuditEntry
    signed_in.client.get("/staff/intakes.json")
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "intakes.exported"))
        assert entry is not None and entry.data["format"] == "json" and len(entry.data["intake_ids"]) == 13


def test_the_rules_page_names_each_rule_by_title_with_its_sources_as_links(as_admin):
    html = parse(as_admin.client.get("/staff/rules/").get_data(as_text=True))
    row = next(tr for tr in html.select("table tbody tr") if "alcohol-before-appointment" in tr.th.get_text())
    assert row.th.get_text(" ", strip=True).startswith("No alcohol in the 48 hours before")
    assert row.select(".citations a[href^='https://']")


def test_a_flag_stored_with_old_source_numbers_still_links_its_sources(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Hannah Lewis"]
    with app.app_context():
        assessment = db.session.get(Intake, intake_id).latest_assessment
        document = dict(assessment.document)
        document["flags"] = [{**flag, "source": ["S10"]} if flag["rule_id"] == "pregnancy" else flag
                             for flag in document["flags"]]
        assessment.document = document
        db.session.commit()
    links = page(signed_in, intake_id).select("#flag-pregnancy .citations a")
    assert [link["href"] for link in links] == [
        "https://azpmu.org/blogs/news/mesotherapy-pre-and-post-care-information-for-aestheticians"]
