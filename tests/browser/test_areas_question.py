"""The areas question on a phone: the whole face, or only some of its parts, grouped under it."""

from __future__ import annotations

from tests.support.browser import (
    PHONE,
    assert_accessible,
    expect,
    fill_about,
    group,
    heading,
    press,
    shot,
    tick,
    watch_console,
)


def test_a_patient_ticks_parts_of_the_face_on_a_phone(chromium, live_server):
    errors: list[str] = []
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch_console(page, errors)
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Start now").click()
    fill_about(page, email="ana@example.com")
    press(page, "Continue", "Your goals")

    areas = group(page, "Which areas would you like treated?")
    parts = group(areas, "Or only some parts of the face")
    expect(areas.get_by_label("Whole face", exact=True)).to_be_visible()
    expect(parts.get_by_role("checkbox")).to_have_count(7)
    # Each part is indented under the whole face: its box starts to the right of the face's.
    face_box = areas.get_by_label("Whole face", exact=True).bounding_box()
    lips_box = parts.get_by_label("Around the mouth and lips").bounding_box()
    assert face_box is not None and lips_box is not None and lips_box["x"] > face_box["x"] + 20
    assert lips_box["x"] + lips_box["width"] <= PHONE["width"]  # no sideways scrolling
    assert_accessible(page)

    tick(page, "Hydration")
    tick(parts, "Around the mouth and lips", "Cheeks")
    tick(areas, "Neck")
    shot(page, "areas-question-phone")
    press(page, "Continue", "Your skin")
    page.go_back()
    expect(heading(page)).to_contain_text("Your goals")
    expect(parts.get_by_label("Around the mouth and lips")).to_be_checked()
    expect(areas.get_by_label("Whole face", exact=True)).not_to_be_checked()
    assert errors == [], errors
    context.close()


def test_without_javascript_the_parts_of_the_face_are_simply_there(chromium, live_server):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Start now").click()
    fill_about(page, email="ana@example.com")
    press(page, "Continue", "Your goals")
    parts = group(page, "Or only some parts of the face")
    expect(parts.get_by_label("Forehead")).to_be_visible()
    tick(page, "Hydration")
    tick(parts, "Forehead")
    press(page, "Continue", "Your skin")
    context.close()
