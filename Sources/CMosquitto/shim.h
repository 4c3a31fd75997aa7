#ifndef PSPF_CMOSQUITTO_SHIM_H
#define PSPF_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
