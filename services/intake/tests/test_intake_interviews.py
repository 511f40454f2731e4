"""The intake interview over HTTP: recorded, replaced, read back, announced; bad input refused by field."""

from __future__ import annotations

import uuid

import pytest

from verbinding_common.contracts.intake import InterviewCompleted

COMPLETED = InterviewCompleted.event_type


def interview_body(**overrides):
    body = {
        "education_level": 6,  # ISCED: bachelor
        "profession": "2142",  # ISCO-08: civil engineers
        "years_of_work_experience": 6,
        "dutch_level": "A1",
        "other_languages": [{"language": "ar", "level": "C2"}, {"language": "en", "level": "B2"}],
        "domains_of_need": ["work", "language", "housing", "health_care"],
        "consent_partners": ["Dutch Refugee Council", "Refugee Talent Hub"],
    }
    body.update(overrides)
    return body


async def test_interview_round_trip_is_readable_and_announced_in_the_outbox(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id, subject="cm-anna")
    response = await intake.client.put(f"/persons/{person.id}/interview", json=interview_body(),
                                       headers=intake.headers("case_manager", subject="cm-anna"))
    assert response.status_code == 200, response.text
    recorded = response.json()
    assert recorded["person_id"] == str(person.id)
    assert recorded["education_level"] == 6
    assert recorded["profession"] == "2142"
    assert recorded["years_of_work_experience"] == 6
    assert recorded["dutch_level"] == "A1"
    assert recorded["other_languages"] == [{"language": "ar", "level": "C2"}, {"language": "en", "level": "B2"}]
    assert recorded["domains_of_need"] == ["work", "language", "housing", "health_care"]
    assert [c["organisation"] for c in recorded["consent_partners"]] == ["Dutch Refugee Council",
                                                                         "Refugee Talent Hub"]
    assert all(c["given_at"] for c in recorded["consent_partners"])
    assert recorded["recorded_by"] == "cm-anna"

    for role in ("case_manager", "team_lead"):
        read = await intake.client.get(f"/persons/{person.id}/interview", headers=intake.headers(role))
        assert read.status_code == 200
        assert read.json() == recorded
    on_person = await intake.client.get(f"/persons/{person.id}", headers=intake.headers("team_lead"))
    assert on_person.json()["interview"] == recorded

    [event] = await intake.outbox_events(key=person.id, event_type=COMPLETED)
    # Codes only, and neither the health-care need nor the consent list: they stay in intake.
    assert event["data"] == {
        "person_id": str(person.id), "education_isced_level": 6, "occupation_isco_group": "21",
        "years_of_work_experience": 6, "dutch_level": "A1", "domains_of_need": ["work", "language", "housing"],
    }


async def test_a_one_digit_profession_is_announced_as_its_major_group(intake) -> None:
    # "7": craft and related trades workers, the major group alone; matching still gives a vacancy of that major
    # group its 12 points, so it must not become "no occupation".
    person = await intake.register()
    await intake.hold(person.id)
    response = await intake.client.put(f"/persons/{person.id}/interview", json=interview_body(profession="7"),
                                       headers=intake.headers("case_manager"))
    assert response.status_code == 200, response.text
    [event] = await intake.outbox_events(key=person.id, event_type=COMPLETED)
    assert event["data"]["occupation_isco_group"] == "7"
    assert InterviewCompleted.model_validate(event["data"]).occupation_isco_group == "7"


async def test_recording_the_interview_again_replaces_it_and_announces_it_again(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id)
    headers = intake.headers("case_manager")
    first = (await intake.client.put(f"/persons/{person.id}/interview", json=interview_body(),
                                     headers=headers)).json()
    second = await intake.client.put(f"/persons/{person.id}/interview", headers=headers, json=interview_body(
        dutch_level="A2", profession=None, domains_of_need=["education"],
        consent_partners=["Refugee Talent Hub", "NewBees"]))
    assert second.status_code == 200
    replaced = second.json()
    assert replaced["dutch_level"] == "A2"
    assert replaced["profession"] is None
    assert replaced["domains_of_need"] == ["education"]
    consent = {c["organisation"]: c["given_at"] for c in replaced["consent_partners"]}
    assert set(consent) == {"Refugee Talent Hub", "NewBees"}, "consent no longer given is withdrawn"
    first_consent = {c["organisation"]: c["given_at"] for c in first["consent_partners"]}
    assert consent["Refugee Talent Hub"] == first_consent["Refugee Talent Hub"], "continuing consent keeps its date"
    read = await intake.client.get(f"/persons/{person.id}/interview", headers=headers)
    assert read.json() == replaced

    events = await intake.outbox_events(key=person.id, event_type=COMPLETED)
    assert [e["data"]["dutch_level"] for e in events] == ["A1", "A2"]


@pytest.mark.parametrize(("field", "value"), [
    ("dutch_level", "D1"),
    ("domains_of_need", []),
    ("domains_of_need", ["cooking"]),
    ("years_of_work_experience", -1),
    ("education_level", "bachelor"),
    ("education_level", 9),
    ("profession", "civil engineer"),
    ("other_languages", [{"language": "ar", "level": "fluent"}]),
    ("consent_partners", [""]),
    ("unexpected_field", "x"),
])
async def test_bad_interview_input_is_refused_with_422_naming_the_field(intake, field, value) -> None:
    person = await intake.register()
    response = await intake.client.put(f"/persons/{person.id}/interview", json=interview_body(**{field: value}),
                                       headers=intake.headers("case_manager"))
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"]), response.text
    assert await intake.outbox_events(key=person.id, event_type=COMPLETED) == []


async def test_a_missing_required_field_is_refused_with_422_naming_it(intake) -> None:
    person = await intake.register()
    body = interview_body()
    del body["education_level"]
    response = await intake.client.put(f"/persons/{person.id}/interview", json=body,
                                       headers=intake.headers("case_manager"))
    assert response.status_code == 422
    assert ["body", "education_level"] in [e["loc"] for e in response.json()["detail"]]


async def test_interview_of_an_unknown_person_is_404_and_not_recorded_is_404(intake) -> None:
    unknown = uuid.uuid4()
    put = await intake.client.put(f"/persons/{unknown}/interview", json=interview_body(),
                                  headers=intake.headers("case_manager"))
    assert put.status_code == 404
    assert "detail" in put.json()
    assert (await intake.client.get(f"/persons/{unknown}/interview",
                                    headers=intake.headers("team_lead"))).status_code == 404
    person = await intake.register()
    not_yet = await intake.client.get(f"/persons/{person.id}/interview", headers=intake.headers("team_lead"))
    assert not_yet.status_code == 404
    person_read = await intake.client.get(f"/persons/{person.id}", headers=intake.headers("team_lead"))
    assert person_read.json()["interview"] is None
