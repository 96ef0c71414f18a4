"""The movement's rules on the in-memory unit of work: the tests of tests/integration/test_domain_rules.py and
test_law_review.py (findings F01–F21), each on a ``MemoryNode`` — the real handlers, codec and reference data over
``MemoryUnitOfWork`` — instead of a database.

The database-backed modules still run them on SQLite and PostgreSQL; here they need no server and take a fraction of
a second each, so a rule can be changed and checked at once. The test functions are imported, so both places hold
the same tests: only the ``node`` fixture differs.
"""

from __future__ import annotations

import pytest

from tests.domain_fixtures import MemoryNode, memory_seeded
from tests.integration.test_domain_rules import (
    test_amendments_are_numbered_and_keep_history,
    test_award_routes_and_authority,
    test_bk_ttg_from_hue_reaches_the_prime_minister_and_returns,
    test_criteria_owner_and_indicators,
    test_drafts_receive_their_number_once_and_numbers_are_unique,
    test_guidance_goes_only_down_the_issuers_subtree,
    test_plans_implement_only_ancestor_plans_and_fit_their_phases,
    test_prerequisites_are_recorded_not_enforced,
    test_registrations_use_the_plans_indicators,
    test_reports_carry_models_and_initiatives,
    test_reports_on_time_late_returned_and_resubmitted,
    test_seed_import_keeps_data_and_flags_the_seeds,
)
from tests.integration.test_law_review import (
    test_f01_a_bare_giay_khen_is_each_levels_own,
    test_f02_by_authority_means_movement_awards_and_titles_are_not_ad_hoc,
    test_f03_lao_cai_sơ_kết_and_its_ad_hoc_forms,
    test_f04_only_empowered_heads_decide_base_titles,
    test_f05_no_one_acts_twice_on_a_proposal,
    test_f06_a_collective_is_checked_against_collective_prerequisites,
    test_f07_lateness_is_judged_in_vietnam_time,
    test_f08_receiving_offices_do_not_report_to_themselves,
    test_f09_lao_cai_binds_the_members_of_its_khoi_thi_dua,
    test_f10_hue_binds_agencies_and_localities_not_the_schools_of_a_ward,
    test_f11_phong_kinh_te_keeps_its_own_undated_duty,
    test_f12_targets_say_whose_they_are,
    test_f13_a_phased_floor_is_a_floor,
    test_f14_nothing_is_lost_on_import,
    test_f15_conflicting_targets_are_flagged,
    test_f16_occasions_have_dates_and_awards_hang_on_them,
    test_f17_cited_documents_are_references,
    test_f18_dong_nai_keeps_its_printed_name_and_the_flag,
    test_f19_hai_phong_keeps_its_period,
    test_f20_a_draft_is_not_recorded_before_its_parent,
    test_f21_dai_sons_start_date_is_flagged,
)

pytestmark = pytest.mark.unit

__all__ = [
    "test_amendments_are_numbered_and_keep_history",
    "test_award_routes_and_authority",
    "test_bk_ttg_from_hue_reaches_the_prime_minister_and_returns",
    "test_criteria_owner_and_indicators",
    "test_drafts_receive_their_number_once_and_numbers_are_unique",
    "test_f01_a_bare_giay_khen_is_each_levels_own",
    "test_f02_by_authority_means_movement_awards_and_titles_are_not_ad_hoc",
    "test_f03_lao_cai_sơ_kết_and_its_ad_hoc_forms",
    "test_f04_only_empowered_heads_decide_base_titles",
    "test_f05_no_one_acts_twice_on_a_proposal",
    "test_f06_a_collective_is_checked_against_collective_prerequisites",
    "test_f07_lateness_is_judged_in_vietnam_time",
    "test_f08_receiving_offices_do_not_report_to_themselves",
    "test_f09_lao_cai_binds_the_members_of_its_khoi_thi_dua",
    "test_f10_hue_binds_agencies_and_localities_not_the_schools_of_a_ward",
    "test_f11_phong_kinh_te_keeps_its_own_undated_duty",
    "test_f12_targets_say_whose_they_are",
    "test_f13_a_phased_floor_is_a_floor",
    "test_f14_nothing_is_lost_on_import",
    "test_f15_conflicting_targets_are_flagged",
    "test_f16_occasions_have_dates_and_awards_hang_on_them",
    "test_f17_cited_documents_are_references",
    "test_f18_dong_nai_keeps_its_printed_name_and_the_flag",
    "test_f19_hai_phong_keeps_its_period",
    "test_f20_a_draft_is_not_recorded_before_its_parent",
    "test_f21_dai_sons_start_date_is_flagged",
    "test_guidance_goes_only_down_the_issuers_subtree",
    "test_plans_implement_only_ancestor_plans_and_fit_their_phases",
    "test_prerequisites_are_recorded_not_enforced",
    "test_registrations_use_the_plans_indicators",
    "test_reports_carry_models_and_initiatives",
    "test_reports_on_time_late_returned_and_resubmitted",
    "test_seed_import_keeps_data_and_flags_the_seeds",
]


@pytest.fixture
def node() -> MemoryNode:
    return memory_seeded()
