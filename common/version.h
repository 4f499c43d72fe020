#ifndef VKR_VERSION_H
#define VKR_VERSION_H
#define VKR_VERSION "0.1.0"
#endif
