import { Module } from '@nestjs/common';
import { RoutesRepository } from './routes.repository';
import { RoutesService } from './routes.service';
import { TraefikController } from './traefik.controller';

/** Routes read model, the Traefik HTTP-provider endpoints, and each worker's routes for its local proxy. */
@Module({
  controllers: [TraefikController],
  providers: [RoutesRepository, RoutesService],
  exports: [RoutesService],
})
export class RoutingModule {}
