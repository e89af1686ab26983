"""The protocol as data: the models of protocol/*.yaml, loaded and cross-checked.
Also the periods, the Jordanian working-day calendar of deadlines, and the `isp init` skeleton.
"""
