"""A pass's status and what the office may do to it, as enums the templates read too."""
from __future__ import annotations

from .labels import Labelled, labelled_member


class PassStatus(Labelled):
    ACTIVE = "active", "有效", "Active"
    SUSPENDED = "suspended", "已暂停", "Suspended"
    REVOKED = "revoked", "已作废", "Revoked"


class PassAction(Labelled):
    """What the office does to a pass, one by one or in bulk.

    Each has its button's label and what the message after it says it did.
    """

    SUSPEND = "suspend", "暂停", "Suspend", "已暂停", "Suspended"
    REINSTATE = "reinstate", "恢复", "Reinstate", "已恢复", "Reinstated"
    REVOKE = "revoke", "作废", "Revoke", "已作废", "Revoked"
    REISSUE = ("reissue", "补办（旧卡作废）", "Reissue (old card void)",
               "已补办（旧证失效）", "Reissued (old card void)")
    REPRINT = "reprint", "重新打印", "Reprint", "已重新打印", "Reprinted"
    # the resident's phone link, not the pass
    REVOKE_LINK = "revoke-link", "重置手机链接", "Reset phone link", "已重置手机链接", "Phone link reset"

    done_label: str
    done_label_en: str

    def __new__(cls, value: str, label: str, label_en: str, done: str, done_en: str):
        member = labelled_member(cls, value, label, label_en)
        member.done_label, member.done_label_en = done, done_en
        return member

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


_LEAVES = {PassAction.SUSPEND: PassStatus.SUSPENDED, PassAction.REINSTATE: PassStatus.ACTIVE,
           PassAction.REVOKE: PassStatus.REVOKED}

#: The pass page's buttons, in the order shown (the last is the dangerous one).
PAGE_ACTIONS = (PassAction.SUSPEND, PassAction.REINSTATE, PassAction.REISSUE,
                PassAction.REVOKE_LINK, PassAction.REVOKE)
#: What the pass list does to many passes at once.
BULK_ACTIONS = (PassAction.SUSPEND, PassAction.REINSTATE, PassAction.REVOKE, PassAction.REISSUE)
