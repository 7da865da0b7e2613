import torch

from inkloop.train._average import WeightAverage


def test_the_average_warms_up_then_follows_the_decay():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    average = WeightAverage(model, decay=0.25)
    expected = None
    for n in range(4):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
        model(torch.rand(2, 2, 8, 8))  # moves the BatchNorm statistics and its step counter
        average.update(model)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        if expected is None:  # the first average is the model itself
            expected = state
            continue
        # keeps 2/11, then 3/12 of the old average (the warm-up), then 0.25 (the decay)
        weight = 1 - min(0.25, (1 + n) / (10 + n))
        for key, value in state.items():
            if value.is_floating_point():
                expected[key] = expected[key] + weight * (value - expected[key])
            else:
                expected[key] = value
    averaged = average.module.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(averaged[key], value)
    assert int(averaged["1.num_batches_tracked"]) == 4
