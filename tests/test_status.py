"""The domain's enums: what the office may do to a pass in each status, who is admitted."""
import pytest

from gatepass.categories import VehicleKind
from gatepass.roles import READERS, Role, admits
from gatepass.status import BULK_ACTIONS, PAGE_ACTIONS, PassAction, PassStatus

A, S, R = PassStatus.ACTIVE, PassStatus.SUSPENDED, PassStatus.REVOKED


@pytest.mark.parametrize("action, offered", [
    (PassAction.SUSPEND, {A}), (PassAction.REINSTATE, {S}), (PassAction.REVOKE, {A, S}),
    (PassAction.REISSUE, {A, S}), (PassAction.REVOKE_LINK, {A, S})])
def test_actions_offered_per_status(action, offered):
    assert {s for s in PassStatus if action.applies_to(s.value)} == offered


def test_status_changing_actions_say_where_they_leave_a_pass():
    assert [a.leaves for a in BULK_ACTIONS] == [S, A, R, None]
    assert PassAction.REVOKE_LINK.leaves is None and PassAction.REVOKE_LINK in PAGE_ACTIONS
    assert PAGE_ACTIONS[-1] is PassAction.REVOKE  # the dangerous one last


@pytest.mark.parametrize("enum", [PassStatus, PassAction, Role, VehicleKind])
def test_every_member_is_its_stored_code_and_has_both_labels(enum):
    for member in enum:
        assert member == member.value and f"{member}" == member.value
        assert enum(member.value) is member
        assert member.label and member.label_en and member.label != member.label_en
        assert not member.label.isascii() and member.label_en.isascii()
    if enum is PassAction:
        assert all(a.done_label and a.done_label_en.isascii() for a in enum)


def test_admin_is_admitted_everywhere_and_others_only_where_named():
    assert all(admits(Role.ADMIN, *roles) for roles in [(), (Role.HEALTH,), READERS])
    assert admits("office", Role.OFFICE, Role.HEALTH) and not admits("guard", Role.OFFICE)
    # the sub-district reads its communities' logs through /district/, not as a reader
    assert set(READERS) == set(Role) - {Role.ADMIN, Role.DISTRICT}
