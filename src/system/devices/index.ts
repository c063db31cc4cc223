export * from './bus.js';
export * from './plic.js';
export * from './uart16550.js';
export * from './goldfish-rtc.js';
export * from './sifive-test.js';
export * from './virtqueue.js';
export {
  VirtioMmio, VirtioMmioReg, VIRTIO_MMIO_MAGIC, VIRTIO_MMIO_VERSION, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1,
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK, STATUS_DEVICE_NEEDS_RESET, STATUS_FAILED,
  INT_USED_BUFFER, INT_CONFIG_CHANGE, configBytesRead, VIRTIO_MMIO_RECORD, VIRTIO_MMIO_RECORD_VERSION,
} from './virtio-mmio.js';
export type { VirtioDevice, VirtioMmioOptions } from './virtio-mmio.js';
export * from './virtio-blk.js';
export * from './virtio-rng.js';
export * from './virtio-balloon.js';
