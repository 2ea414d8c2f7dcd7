"""A pass's status and what the office may do to it, as enums the templates read too."""
from __future__ import annotations

from enum import StrEnum


class PassStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _STATUS_LABELS[self][1]


_STATUS_LABELS = {
    PassStatus.ACTIVE: ("有效", "Active"),
    PassStatus.SUSPENDED: ("已暂停", "Suspended"),
    PassStatus.REVOKED: ("已作废", "Revoked"),
}


class PassAction(StrEnum):
    """What the office does to a pass, one by one or in bulk."""

    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    REISSUE = "reissue"
    REPRINT = "reprint"
    REVOKE_LINK = "revoke-link"  # the resident's phone link, not the pass

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _ACTION_LABELS[self][1]

    @property
    def done_label(self) -> str:
        return _ACTION_LABELS[self][2]

    @property
    def done_label_en(self) -> str:
        return _ACTION_LABELS[self][3]

    @property
    def leaves(self) -> PassStatus | None:
        """The status this action sets; None when it leaves the status alone."""
        return _LEAVES.get(self)

    def applies_to(self, status: str) -> bool:
        """Whether the office is offered this action on a pass in ``status``.

        A revoked pass stays revoked: nothing applies to it. Suspending needs an
        active pass and reinstating a suspended one.
        """
        if status == PassStatus.REVOKED:
            return False
        if self is PassAction.SUSPEND:
            return status == PassStatus.ACTIVE
        if self is PassAction.REINSTATE:
            return status == PassStatus.SUSPENDED
        return True


# action -> (button, button in English, done, done in English)
_ACTION_LABELS = {
    PassAction.SUSPEND: ("暂停", "Suspend", "已暂停", "Suspended"),
    PassAction.REINSTATE: ("恢复", "Reinstate", "已恢复", "Reinstated"),
    PassAction.REVOKE: ("作废", "Revoke", "已作废", "Revoked"),
    PassAction.REISSUE: ("补办（旧卡作废）", "Reissue (old card void)",
                         "已补办（旧证失效）", "Reissued (old card void)"),
    PassAction.REPRINT: ("重新打印", "Reprint", "已重新打印", "Reprinted"),
    PassAction.REVOKE_LINK: ("重置手机链接", "Reset phone link", "已重置手机链接",
                             "Phone link reset"),
}
_LEAVES = {PassAction.SUSPEND: PassStatus.SUSPENDED, PassAction.REINSTATE: PassStatus.ACTIVE,
           PassAction.REVOKE: PassStatus.REVOKED}

#: The pass page's buttons, in the order shown (the last is the dangerous one).
PAGE_ACTIONS = (PassAction.SUSPEND, PassAction.REINSTATE, PassAction.REISSUE,
                PassAction.REVOKE_LINK, PassAction.REVOKE)
#: What the pass list does to many passes at once.
BULK_ACTIONS = (PassAction.SUSPEND, PassAction.REINSTATE, PassAction.REVOKE, PassAction.REISSUE)
