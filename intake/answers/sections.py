"""The questions of the intake, section by section: the one place each question is declared.

Each section is a marshmallow schema; each question is one field of it, made by a
function of ``questions.py`` that carries the question's wording (label, hint, choice
labels, when it is asked, what to say when it is left blank) next to its type and
validation. The patient form, the JSON Schema, the FHIR Questionnaire, the summary of
answers and the facts the rules read are all generated from these classes: adding a
question is adding one line here (docs/answers.md, "Adding a question").

The field name is the answer's name in the document and in the rule files
(``health.pregnant``); the order is the order the patient is asked in.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, pre_dump, validates_schema

from .questions import (
    Gate,
    Section,
    agreement,
    checklist,
    choice,
    date,
    email_address,
    item_list,
    phone_number,
    text,
    timestamp,
    when,
    whole_number,
    yes_no,
)
from .vocabulary import (
    ACTIVE_ALLERGIES,
    ALLERGY_REACTIONS,
    AREA_PARTS,
    AREAS,
    CONDITIONS,
    EVENT_KINDS,
    FITZPATRICK_TYPES,
    GOALS,
    HOW_TAKEN,
    MEDICATION_STATUS,
    N_,
    SEX,
    SKIN_CONCERNS,
    SMOKING,
    STOPPED_BY,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
)

#: The pregnancy questions are asked only of patients recorded as female or "prefer not to say".
MAY_BE_PREGNANT = when("about.sex", "female", "prefer_not_to_say")
HAS_DIABETES = when("conditions", "diabetes", intro=N_("If you ticked diabetes…"))


class AboutSchema(Section):
    full_name = text(N_("Full name"), max_length=120, autocomplete="name", required=N_("Enter your full name."))
    date_of_birth = date(N_("Date of birth"), autocomplete="bday", required=N_("Enter your date of birth."),
                         invalid=N_("Enter your date of birth as a real date."))
    #: Sex recorded at birth: drinking thresholds and some hair-loss actives depend on it.
    sex = choice(SEX, N_("Sex recorded at birth"),
                 hint=N_("Some advice depends on it, for example safe drinking levels and some hair-loss treatments."),
                 required=N_("Select your sex recorded at birth."))
    email = email_address(N_("Email address"), hint=N_("The clinic uses it only about your appointment."),
                  required=N_("Enter your email address."),
                  invalid=N_("Enter an email address like name@example.com."))
    phone = phone_number(N_("Phone number (optional)"), summary_label=N_("Phone number"), width=20)
    #: None means "not booked yet".
    appointment_date = date(
        N_("Date of your appointment"), required=N_("Enter the date of your appointment."),
        gate=Gate("appointment_booked", N_("Have you booked your appointment?"), no=N_("Not booked yet"),
                  required=N_("Say whether you have booked your appointment.")),
    )


class GoalsSchema(Section):
    goals = checklist(GOALS, N_("What would you like to improve?"), optional=True, hint=N_("Tick all that apply."))
    other_goal = text(N_("Anything else you would like to improve? (optional)"), optional=True,
                      hint=N_("In your own words."), summary_label=N_("Anything else"))
    areas = checklist(AREAS, N_("Which areas would you like treated?"), min_choices=1,
                      too_few=N_("Choose at least one area."), parts=AREA_PARTS,
                      hint=N_("Tick all that apply. For the face, tick the whole face or only the parts you "
                              "want treated."))

    @validates_schema
    def _some_goal(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("goals") and not data.get("other_goal"):
            raise ValidationError(N_("Choose at least one goal, or describe yours."), "goals")


class SkinSchema(Section):
    concerns = checklist(SKIN_CONCERNS, N_("Do you have any of these skin concerns? (optional)"), optional=True,
                         hint=N_("Tick all that apply."), summary_label=N_("Skin concerns"))
    fitzpatrick_type = choice(
        FITZPATRICK_TYPES, N_("Which best describes your skin in the sun?"),
        hint=N_("This is your skin type (the Fitzpatrick scale). It helps the practitioner choose what suits "
                "your skin."),
        required=N_("Select the description closest to your skin."),
    )
    sensitive_skin = yes_no(N_("Is your skin sensitive or easily irritated?"),
                            required=N_("Select yes if your skin is sensitive."))
    #: Breakouts, infection, rash or a wound at the treatment area today.
    active_infection_at_area = yes_no(
        N_("Do you have spots, an infection, a rash or a wound where you want treatment?"),
        hint=N_("Now, or in the last few days."),
        required=N_("Select yes if you have spots, an infection, a rash or a wound there."),
    )
    active_cold_sore = yes_no(N_("Do you have a cold sore now, or feel one starting?"),
                              required=N_("Select yes if you have a cold sore now."))
    cold_sore_history = yes_no(N_("Have you ever had cold sores?"),
                               required=N_("Select yes if you have ever had cold sores."))
    keloid_scarring = yes_no(N_("Do you get raised or thick scars (keloid scars)?"),
                             hint=N_("Scars that grow bigger than the wound that caused them."),
                             required=N_("Select yes if you get raised or thick scars."))


class HealthSchema(Section):
    pregnant = yes_no(N_("Are you pregnant?"), asked_if=MAY_BE_PREGNANT, heading=N_("Pregnancy and hormones"),
                      required=N_("Select yes if you are pregnant."))
    pregnancy_weeks = whole_number(
        N_("How many weeks pregnant are you?"), minimum=1, maximum=45, asked_if=when("pregnant", True),
        out_of_range=N_("Enter a number of weeks from 1 to 45."), hint=N_("An estimate is fine."),
        required=N_("Say how many weeks pregnant you are."),
        invalid=N_("Enter the number of weeks as a whole number, like 12."), width=4,
    )
    trying_to_conceive = yes_no(N_("Are you trying to get pregnant?"), asked_if=MAY_BE_PREGNANT,
                                required=N_("Select yes if you are trying to get pregnant."))
    #: A course runs over months: a pregnancy planned within it changes the schedule.
    planning_pregnancy = yes_no(N_("Are you planning to become pregnant in the next 6 months?"),
                                asked_if=MAY_BE_PREGNANT, optional=True,
                                summary_label=N_("Planning a pregnancy in the next 6 months"))
    breastfeeding = yes_no(N_("Are you breastfeeding?"), asked_if=MAY_BE_PREGNANT,
                           required=N_("Select yes if you are breastfeeding."))
    recently_gave_birth = yes_no(N_("Have you given birth in the last 12 months?"), asked_if=MAY_BE_PREGNANT,
                                 required=N_("Select yes if you have given birth in the last 12 months."))
    delivery_date = date(N_("Date you gave birth"), asked_if=when("recently_gave_birth", True),
                         required=N_("Enter the date you gave birth."), may_be_approximate=True)
    hormonal_contraception = yes_no(
        N_("Do you use hormonal contraception or hormone therapy? (optional)"), optional=True,
        asked_if=MAY_BE_PREGNANT, hint=N_("For example the pill, an implant, an injection, a hormonal coil or HRT."),
        summary_label=N_("Hormonal contraception or hormone therapy"),
    )
    conditions = checklist(
        CONDITIONS, N_("Do you have, or have you had, any of these?"), none_label=N_("None of these"),
        hint=N_("Tick all that apply."), heading=N_("Medical conditions"),
        required=N_("Tick the conditions that apply to you, or “None of these”."),
        summary_label=N_("Medical conditions"),
    )
    other_condition = text(N_("What is the other condition?"), required=N_("Describe the other condition."),
                           asked_if=when("conditions", "other", intro=N_("If you ticked another condition…")))
    diabetes_controlled = yes_no(
        N_("Is your diabetes well controlled?"), asked_if=HAS_DIABETES,
        hint=N_("For example, your doctor or nurse is happy with your recent blood sugar results."),
        required=N_("Answer this question about your diabetes."),
    )
    uses_insulin = yes_no(N_("Do you use insulin?"), asked_if=HAS_DIABETES,
                          required=N_("Answer this question about your diabetes."))
    #: Unwell or feverish in the last two weeks.
    recent_illness = yes_no(N_("Have you been unwell or had a fever in the last 2 weeks?"),
                            heading=N_("Recent illness"),
                            required=N_("Select yes if you have been unwell or had a fever."))
    #: Antibiotics in the last two weeks.
    recent_antibiotics = yes_no(N_("Have you taken antibiotics in the last 2 weeks?"),
                                required=N_("Select yes if you have taken antibiotics."))


class MedicationSchema(Section):
    #: As the patient typed it; the medication lexicon recognises it.
    name = text(N_("Name of the medicine or supplement"), max_length=120,
                hint=N_("As written on the packet, for example Eliquis or fish oil."),
                required=N_("Enter the name of the medicine or supplement."))
    dose = text(N_("Dose (optional)"), optional=True, max_length=60, hint=N_("For example 5 mg twice a day."),
                summary_label=N_("Dose"))
    status = choice(MEDICATION_STATUS, N_("Are you still taking it?"), inline=True,
                    required=N_("Say whether you are still taking it."), summary_label=N_("Status"))
    #: A painkiller taken only now and then matters by its last dose, not by "still taking".
    #: Optional: stored intakes never had it, and a medicine not said to be as-needed counts as taken daily.
    how_taken = choice(HOW_TAKEN, N_("How do you take it?"), optional=True, summary_label=N_("How taken"),
                       asked_if=when("status", "taking", intro=N_("If still taking…")))
    last_taken_on = date(N_("When did you last take it?"), summary_label=N_("Last taken"),
                         required=N_("Enter the date you last took it."),
                         invalid=N_("Enter the date you last took it as day, month and year, for example 2 12 2026."),
                         hint=N_("For example, if you took 2 yesterday, enter yesterday’s date."),
                         asked_if=when("how_taken", "as_needed", intro=N_("If only when needed…"),
                                       otherwise=N_("Leave the date empty if you take it every day.")),
                         may_be_approximate=True)
    stopped_on = date(N_("Date you stopped"), summary_label=N_("Stopped on"),
                      required=N_("Enter the date you stopped."),
                      asked_if=when("status", "stopped", intro=N_("If stopped…"),
                                    otherwise=N_("Leave the date empty if you are still taking it.")),
                      may_be_approximate=True)
    #: Who stopped it: the prescriber's decision, or the patient's own (the risk for a blood thinner).
    stopped_by = choice(STOPPED_BY, N_("Who stopped it?"), optional=True, summary_label=N_("Stopped by"),
                        asked_if=when("status", "stopped", intro=N_("If stopped…")))
    #: Prescribed by a doctor (a prescribed antithrombotic is never to be stopped).
    prescribed = yes_no(N_("Was it prescribed by a doctor?"), required=N_("Select yes if a doctor prescribed it."),
                        summary_label=N_("Prescribed"))


class MedicationsSchema(Section):
    has_medications = yes_no(
        N_("Do you take any medicines or supplements, or have you stopped any in the last 6 months?"),
        hint=N_("Include medicines from your doctor, painkillers you buy yourself, creams you put on your skin, "
                "vitamins and herbal supplements."),
        required=N_("Select yes if you take any medicines or supplements."),
    )
    items = item_list(MedicationSchema, N_("Your medicines and supplements"), row_title=N_("Medicine or supplement"),
                  required=N_("Add at least one medication or supplement."),
                  asked_if=when("has_medications", True, intro=N_("If yes, list each one…"),
                                otherwise=N_("You said you take none: remove the list or change the answer.")))


class AllergySchema(Section):
    #: As the patient typed it; the allergen lexicon recognises it.
    name = text(N_("What are you allergic to?"), max_length=120,
                hint=N_("One allergy in each box, for example penicillin, lidocaine, bee stings or latex."),
                required=N_("Enter what you are allergic to."))
    reaction = choice(ALLERGY_REACTIONS, N_("What happened when you reacted?"),
                      required=N_("Select what happened when you reacted."), summary_label=N_("Reaction"))


class AllergiesSchema(Section):
    local_anaesthetic_allergy = yes_no(
        N_("Have you ever had an allergic reaction to a local anaesthetic?"),
        hint=N_("For example lidocaine, a numbing cream such as EMLA, or a dental injection."),
        required=N_("Select yes if you have reacted to a local anaesthetic."),
    )
    anaphylaxis_history = yes_no(
        N_("Have you ever had a severe allergic reaction (anaphylaxis)?"),
        hint=N_("For example swelling of the throat, difficulty breathing, or needing an adrenaline pen."),
        required=N_("Select yes if you have ever had a severe allergic reaction."),
    )
    injection_reaction = yes_no(N_("Have you reacted badly to an injection or a skincare product before?"),
                                required=N_("Select yes if you have reacted badly to an injection or skincare."))
    injection_reaction_details = text(N_("What happened?"), long=True, asked_if=when("injection_reaction", True),
                                      required=N_("Describe the reaction you had."))
    active_allergies = checklist(ACTIVE_ALLERGIES, N_("Are you allergic to any of these? (optional)"), optional=True,
                                 hint=N_("Tick all that apply. Leave blank if none."), summary_label=N_("Allergic to"))
    #: Optional: intakes stored before the list was asked do not have it.
    has_allergies = yes_no(
        N_("Are you allergic to anything else, such as a medicine, an insect sting, latex, plasters or a food?"),
        hint=N_("Include any allergy, even one you think does not matter here."), optional=True,
        summary_label=N_("Other allergies named"),
    )
    items = item_list(AllergySchema, N_("Your allergies"), row_title=N_("Allergy"),
                      required=N_("Add at least one allergy."),
                      asked_if=when("has_allergies", True, intro=N_("If yes, list each one…"),
                                    otherwise=N_("You said you have none: remove the list or change the answer.")))
    other_allergies = text(N_("Anything else about your allergies? (optional)"), long=True, optional=True,
                           hint=N_("For example what was done when you reacted, or an allergy test you had."),
                           summary_label=N_("More about allergies"))

    @pre_dump
    def _stored_before_the_list(self, data: Any, **_: Any) -> Any:
        # An intake stored before the list was asked has no "items", and marshmallow would
        # then read the dict's own items method.
        if isinstance(data, dict) and "items" not in data:
            return {**data, "items": []}
        return data


class LifestyleSchema(Section):
    alcohol_drinks_per_week = whole_number(
        N_("How many alcoholic drinks do you have in a typical week?"), minimum=0, maximum=200,
        out_of_range=N_("Enter a number from 0 to 200."),
        hint=N_("One drink is a small glass of wine, half a pint of beer or a single measure of spirits. "
                "Enter 0 if you do not drink."),
        required=N_("Enter how many drinks you have in a typical week."),
        invalid=N_("Enter a whole number of drinks, like 0 or 6."), width=4,
    )
    #: Alcohol thins the blood for about two days: what matters is drinking close to the appointment.
    last_drink_on = date(
        N_("When did you last have an alcoholic drink?"), optional=True, summary_label=N_("Last alcoholic drink"),
        hint=N_("Leave blank if you do not drink. If you are not sure of the day, give your best guess and say "
                "how sure you are."),
        invalid=N_("Enter the date of your last drink as day, month and year, for example 27 3 2026."),
        may_be_approximate=True,
    )
    drinking_before_appointment = yes_no(
        N_("Do you plan to drink alcohol in the 2 days before your appointment?"), optional=True,
        summary_label=N_("Plans to drink in the 2 days before"),
        hint=N_("Leave blank if you do not drink."),
    )
    smoking = choice(SMOKING, N_("Do you smoke or vape?"), required=N_("Say whether you smoke or vape."))
    #: Sunburn, sunbeds or unprotected sun in the last two weeks.
    recent_tanning = yes_no(
        N_("In the last 2 weeks, have you been sunburnt, used a sunbed or spent long in strong sun without "
           "protection?"),
        required=N_("Select yes if you have been sunburnt, used a sunbed or been in strong sun."),
    )


class TreatmentSchema(Section):
    kind = choice(TREATMENT_KINDS, N_("Treatment"), drop_down=True, required=N_("Choose the treatment."))
    on = date(N_("Date of the treatment"), required=N_("Enter the date of the treatment."),
              hint=N_("If you are not sure of the day, give your best guess and say how sure you are."),
              summary_label=N_("Date"), may_be_approximate=True)
    area = choice(TREATMENT_AREAS, N_("Area treated (optional)"), drop_down=True, optional=True,
                  summary_label=N_("Area"), parts=AREA_PARTS)


class TreatmentsSchema(Section):
    had_mesotherapy_before = yes_no(N_("Have you had mesotherapy before?"),
                                    required=N_("Select yes if you have had mesotherapy before."))
    #: Any cosmetic or dental treatment in the last six months.
    has_recent_treatments = yes_no(
        N_("Have you had any cosmetic or dental treatment in the last 6 months?"),
        hint=N_("For example fillers, anti-wrinkle injections, laser, a peel, microneedling or dental work."),
        required=N_("Select yes if you have had any treatment in the last 6 months."),
    )
    items = item_list(TreatmentSchema, N_("Your recent treatments"), row_title=N_("Treatment"),
                  required=N_("Add the treatment and its date."),
                  asked_if=when("has_recent_treatments", True, intro=N_("If yes, list each one…"),
                                otherwise=N_("You said you had none: remove the list or change the answer.")))


class EventSchema(Section):
    kind = choice(EVENT_KINDS, N_("Event"), drop_down=True, required=N_("Choose the kind of event."))
    on = date(N_("Date of the event"), required=N_("Enter the date of the event."), summary_label=N_("Date"))
    description = text(N_("Details (optional)"), optional=True, max_length=120,
                       hint=N_("For example “my sister’s wedding”."), summary_label=N_("Details"))


class EventsSchema(Section):
    has_upcoming_events = yes_no(
        N_("Do you have an important event coming up, such as a wedding, a holiday or photos?"),
        hint=N_("Redness and bruising can take a week or more to fade, so the clinic plans around it."),
        required=N_("Select yes if you have an event coming up."),
    )
    items = item_list(EventSchema, N_("Your upcoming events"), row_title=N_("Event"),
                  required=N_("Add the event and its date."),
                  asked_if=when("has_upcoming_events", True, intro=N_("If yes, list each one…"),
                                otherwise=N_("You said you have none: remove the list or change the answer.")))


#: The four statements of consent sit together under one legend.
YOUR_AGREEMENT = N_("Your agreement")


class ConsentSchema(Section):
    #: Free text for the practitioner; no rule reads it (the record says so beside it).
    anything_else = text(N_("Is there anything else you would like your practitioner to know?"), long=True,
                         optional=True, summary_label=N_("Anything else"),
                         hint=N_("Your practitioner reads this before your appointment."))
    understands_procedure = agreement(N_("I have read what mesotherapy involves."), group=YOUR_AGREEMENT)
    accepts_after_effects = agreement(
        N_("I understand the usual after-effects (redness, swelling and bruising for a few days) and the rare "
           "risks."), group=YOUR_AGREEMENT)
    answers_accurate = agreement(
        N_("My answers are accurate and complete, as far as I know. I will tell the clinic if anything changes "
           "before my appointment."), group=YOUR_AGREEMENT)
    data_processing = agreement(
        N_("I agree that the clinic may store and use my health information to decide whether the treatment is "
           "suitable for me."), group=YOUR_AGREEMENT)
    #: The patient's full name typed as a signature.
    signature = text(N_("Type your full name to sign"), max_length=120, autocomplete="name",
                     hint=N_("Exactly as you gave it in “About you”. We record the date and time you sign."),
                     required=N_("Type your full name to sign."))
    #: Set by the server when the consent section is saved, never typed.
    signed_at = timestamp(N_("Signed"))


#: The sections, in the order the patient sees them.
SECTIONS: dict[str, type[Section]] = {
    "about": AboutSchema,
    "goals": GoalsSchema,
    "skin": SkinSchema,
    "health": HealthSchema,
    "medications": MedicationsSchema,
    "allergies": AllergiesSchema,
    "lifestyle": LifestyleSchema,
    "treatments": TreatmentsSchema,
    "events": EventsSchema,
    "consent": ConsentSchema,
}

SECTION_TITLES = {
    "about": N_("About you"),
    "goals": N_("Your goals"),
    "skin": N_("Your skin"),
    "health": N_("Your health"),
    "medications": N_("Medicines and supplements"),
    "allergies": N_("Allergies"),
    "lifestyle": N_("Lifestyle"),
    "treatments": N_("Previous treatments"),
    "events": N_("Upcoming events"),
    "consent": N_("Consent"),
}
