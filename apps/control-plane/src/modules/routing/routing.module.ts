import { Module } from '@nestjs/common';
import { WorkersModule } from '../workers/workers.module';
import { AgentRoutes } from './agent-routes';
import { RoutesRepository } from './routes.repository';
import { RoutesService } from './routes.service';
import { TraefikController } from './traefik.controller';

/** Routes read model, the Traefik HTTP-provider endpoints, and each worker's routes for its local proxy. */
@Module({
  imports: [WorkersModule],
  controllers: [TraefikController],
  providers: [RoutesRepository, RoutesService, AgentRoutes],
  exports: [RoutesService],
})
export class RoutingModule {}
