import { Module } from '@nestjs/common';
import { WorkersModule } from '../workers/workers.module';
import { AgentRoutes } from './agent-routes';
import { RoutesRepository } from './routes.repository';
import { RoutesService } from './routes.service';
import { TraefikController } from './traefik.controller';
import { TraefikNotModified } from './traefik-not-modified';
import { TraefikTokenGuard } from './traefik-token.guard';

/** Routes read model, the Traefik HTTP-provider endpoints, and each worker's routes for its local proxy. */
@Module({
  imports: [WorkersModule],
  controllers: [TraefikController],
  providers: [RoutesRepository, RoutesService, AgentRoutes, TraefikTokenGuard, TraefikNotModified],
  exports: [RoutesService, TraefikNotModified],
})
export class RoutingModule {}
