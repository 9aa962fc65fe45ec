import { Global, Module } from '@nestjs/common';
import { ControlPlaneConfig, loadControlPlaneConfig } from '@berth/config';
import { CLOCK, ID_GENERATOR, systemClock, uuidGenerator } from '../common/clock';

export const CONTROL_PLANE_CONFIG = Symbol('ControlPlaneConfig');

/** Typed config, clock and id generator for every module; process.env is read only in @berth/config. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: ControlPlaneConfig = loadControlPlaneConfig()) {
    return {
      module: ConfigModule,
      providers: [
        { provide: CONTROL_PLANE_CONFIG, useValue: config },
        { provide: CLOCK, useValue: systemClock },
        { provide: ID_GENERATOR, useValue: uuidGenerator },
      ],
      exports: [CONTROL_PLANE_CONFIG, CLOCK, ID_GENERATOR],
    };
  }
}
