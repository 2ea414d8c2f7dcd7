"""The chain's running step costs (scanner/costs.py): learned per view, forgotten when skipped."""
from scanner.costs import StepCosts


def test_a_step_is_expected_to_cost_its_prior_until_it_has_run():
    costs = StepCosts()
    assert costs.expected("unwarp", 30.0) == 30.0
    costs.learn("unwarp", 12.0)
    assert costs.expected("unwarp", 30.0) == 12.0  # its first measured view, not the prior


def test_the_running_cost_follows_the_step_without_jumping_at_one_view():
    costs = StepCosts()
    for _ in range(20):
        costs.learn("zbar", 4.0)
    costs.learn("zbar", 40.0)  # one textured crop
    assert 4.0 < costs.expected("zbar", 4.0) < 12.0
    for _ in range(30):
        costs.learn("zbar", 40.0)
    assert costs.expected("zbar", 4.0) > 39.0


def test_a_skipped_step_drifts_back_to_its_prior_and_no_further():
    """A step skipped for looking slow gets another chance; one that looked cheap is not
    made to look dearer by being skipped."""
    costs = StepCosts()
    costs.learn("slow", 90.0)
    costs.learn("cheap", 1.0)
    for _ in range(60):
        costs.forget("slow", 10.0)
        costs.forget("cheap", 10.0)
    assert 10.0 < costs.expected("slow", 10.0) < 10.5
    assert costs.expected("cheap", 10.0) == 1.0
    costs.clear()
    assert costs.expected("slow", 10.0) == 10.0
