# Copyright (c) mmwsl contributors. All rights reserved.
from .bas_loss import (AreaLoss, BackgroundActivationLoss, area_loss,
                       background_activation_loss)
